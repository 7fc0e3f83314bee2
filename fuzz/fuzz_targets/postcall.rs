//! The `postcall` target: its properties are `callvault_fuzz_properties::targets::postcall`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callvault_fuzz_properties::targets::postcall::run(data));
