//! The cost of routing decisions, without I/O: starting a walk over a route tree (the first
//! target), and the decision after a failed attempt (the next target), for a single target,
//! a three-target fallback, a weighted load balancer and a conditional route.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::Value;
use switchyard_config::route::{Facts, RouteNode, TargetSpec};
use switchyard_router::{Next, Outcome, TargetState, Walk, WalkContext};

struct Cx(Value);

impl Facts for Cx {
    fn lookup(&self, path: &[String]) -> Option<Value> {
        let mut v = &self.0;
        for p in path {
            v = v.get(p)?;
        }
        Some(v.clone())
    }
}

impl WalkContext for Cx {
    fn facts(&self) -> &dyn Facts {
        self
    }
    fn target_state(&self, _: &TargetSpec, _: Option<&str>) -> TargetState {
        TargetState {
            healthy: true,
            badness: 0.0,
            latency_us: 0.0,
            inflight: 0,
        }
    }
}

const CONFIG: &str = r#"
providers:
  a: { kind: openai }
  b: { kind: openai }
  c: { kind: openai }
routes:
  single: { targets: [ { provider: a, model: m } ] }
  fallback:
    strategy: fallback
    targets: [ { provider: a, model: m }, { provider: b, model: m }, { provider: c, model: m } ]
  weighted:
    strategy: loadbalance
    targets: [ { provider: a, weight: 3 }, { provider: b, weight: 1 }, { provider: c, weight: 1 } ]
  conditional:
    strategy:
      mode: conditional
      conditions:
        - { query: { metadata.tier: { $eq: paid } }, then: premium }
        - { query: { params.max_tokens: { $gt: 1000 } }, then: long }
      default: basic
    targets:
      - { provider: a, name: premium }
      - { provider: b, name: long }
      - { provider: c, name: basic }
"#;

fn bench(c: &mut Criterion) {
    let Ok(config) = switchyard_config::load_str(CONFIG, "bench.yaml", &|_| None) else {
        return;
    };
    let cx = Cx(serde_json::json!({"metadata": {"tier": "free"}, "params": {"max_tokens": 64}}));
    let failed = Outcome::failed(503, None);
    let mut rng = StdRng::seed_from_u64(7);
    for name in ["single", "fallback", "weighted", "conditional"] {
        let Some(route) = config.route(name) else {
            continue;
        };
        let root: &RouteNode = &route.node;
        c.bench_function(&format!("route/{name}/first target"), |b| {
            b.iter(|| {
                let (walk, next) = Walk::start(black_box(root), &cx, &mut rng);
                black_box((walk, matches!(next, Next::Try(_))))
            })
        });
        if name == "fallback" || name == "weighted" {
            c.bench_function(&format!("route/{name}/after a failed attempt"), |b| {
                b.iter(|| {
                    let (mut walk, _) = Walk::start(black_box(root), &cx, &mut rng);
                    let next = walk.next(black_box(&failed), &cx, &mut rng);
                    black_box(matches!(next, Next::Try(_)))
                })
            });
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
