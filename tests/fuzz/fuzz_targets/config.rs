#![no_main]
// The property is in switchyard_fuzz_harness::config::run; corpus: corpus/config/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchyard_fuzz_harness::config::run(data));
