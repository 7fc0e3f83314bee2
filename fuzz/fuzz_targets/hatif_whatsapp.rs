//! The `hatif_whatsapp` target: its properties are `callvault_fuzz_properties::targets::hatif_whatsapp`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callvault_fuzz_properties::targets::hatif_whatsapp::run(data));
