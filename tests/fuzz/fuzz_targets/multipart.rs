#![no_main]
// The property is in switchyard_fuzz_harness::multipart::run; corpus: corpus/multipart/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchyard_fuzz_harness::multipart::run(data));
