#![no_main]
// The property is in switchyard_fuzz_harness::dialects::request; corpus: corpus/request/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchyard_fuzz_harness::dialects::request(data));
