#![no_main]
// The property is in switchyard_fuzz_harness::sse::limit; corpus: corpus/sse_limit/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchyard_fuzz_harness::sse::limit(data));
