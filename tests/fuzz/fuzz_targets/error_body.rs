#![no_main]
// The property is in switchyard_fuzz_harness::dialects::error_body; corpus: corpus/error_body/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchyard_fuzz_harness::dialects::error_body(data));
