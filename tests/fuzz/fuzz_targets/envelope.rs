#![no_main]
// The property is in switchyard_fuzz_harness::envelope::run; corpus: corpus/envelope/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchyard_fuzz_harness::envelope::run(data));
