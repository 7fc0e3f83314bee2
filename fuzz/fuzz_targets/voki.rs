//! The `voki` target: its properties are `callvault_fuzz_properties::targets::voki`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callvault_fuzz_properties::targets::voki::run(data));
