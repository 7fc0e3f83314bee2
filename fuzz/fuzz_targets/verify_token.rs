//! The `verify_token` target: its properties are `callvault_fuzz_properties::targets::verify_token`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callvault_fuzz_properties::targets::verify_token::run(data));
