//! The `hatif_call` target: its properties are `callvault_fuzz_properties::targets::hatif_call`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callvault_fuzz_properties::targets::hatif_call::run(data));
