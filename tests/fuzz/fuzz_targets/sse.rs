#![no_main]
// The property is in switchyard_fuzz_harness::sse::run; corpus: corpus/sse/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchyard_fuzz_harness::sse::run(data));
