//! The `verify_hmac` target: its properties are `callvault_fuzz_properties::targets::verify_hmac`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callvault_fuzz_properties::targets::verify_hmac::run(data));
