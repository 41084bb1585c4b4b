#![no_main]
// The property is in switchyard_fuzz_harness::eventstream::run; corpus: corpus/eventstream/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchyard_fuzz_harness::eventstream::run(data));
