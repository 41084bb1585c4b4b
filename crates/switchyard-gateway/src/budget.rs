//! One memory budget for the request and response bytes the gateway holds across all
//! requests (`server.max_buffered`): a request body is held whole for its retries, an answer
//! is held until its verdict. A request that would go over the budget gets a 503 with
//! `retry-after` instead of pushing the process out of memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::GatewayError;

/// The budget.
pub struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    /// At most `max` bytes held at once.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicUsize::new(0),
            max,
        })
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// What one request holds of the budget; given back when dropped.
pub struct Hold {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Hold {
    /// The budget this holds from.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// Holds nothing yet.
    pub fn new(budget: &Arc<Budget>) -> Self {
        Self {
            budget: budget.clone(),
            bytes: 0,
        }
    }

    /// Holds `n` more bytes, or refuses when the budget has no room for them.
    pub fn grow(&mut self, n: usize) -> Result<(), GatewayError> {
        let b = &self.budget;
        let mut used = b.used.load(Ordering::Relaxed);
        loop {
            let next = used.checked_add(n).ok_or(GatewayError::Overloaded)?;
            if next > b.max {
                return Err(GatewayError::Overloaded);
            }
            match b
                .used
                .compare_exchange_weak(used, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.bytes += n;
                    return Ok(());
                }
                Err(now) => used = now,
            }
        }
    }

    /// Bytes this request holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Holds exactly `n` bytes: gives back what is no longer held, or holds more (refused
    /// when the budget has no room).
    pub fn set(&mut self, n: usize) -> Result<(), GatewayError> {
        if n <= self.bytes {
            let freed = self.bytes - n;
            if freed > 0 {
                self.budget.used.fetch_sub(freed, Ordering::AcqRel);
                self.bytes = n;
            }
            return Ok(());
        }
        self.grow(n - self.bytes)
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_are_bounded_and_given_back() {
        let b = Budget::new(100);
        let mut a = Hold::new(&b);
        let mut c = Hold::new(&b);
        a.grow(60).unwrap();
        assert!(c.grow(50).is_err());
        c.grow(40).unwrap();
        assert_eq!(b.used(), 100);
        drop(a);
        assert_eq!(b.used(), 40);
        c.grow(60).unwrap();
        c.set(10).unwrap();
        assert_eq!(b.used(), 10);
        assert!(c.set(101).is_err());
        c.set(100).unwrap();
        drop(c);
        assert_eq!(b.used(), 0);
    }
}
