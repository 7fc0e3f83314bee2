//! One module per fuzz target; each `run` checks the target's properties on one input and
//! panics when one does not hold. A target that takes structured input reads it from the
//! bytes as libFuzzer's `fuzz_target!` does (`Arbitrary::arbitrary_take_rest`), so a crash
//! file replays the same here.

pub mod hatif_call;
pub mod hatif_whatsapp;
pub mod keyring;
pub mod postcall;
pub mod verify_hmac;
pub mod verify_token;
pub mod voiceinfra;
pub mod voki;
