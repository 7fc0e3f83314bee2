//! What each fuzz target asserts, as library code.
//!
//! Every target is a function over raw bytes, [`Target::run`], that panics when a property
//! does not hold. Two runners call them:
//!
//! - the cargo-fuzz crate in `fuzz/` (nightly, libFuzzer), whose targets are one line each;
//! - `make test` (stable), through this crate's tests: every committed seed and every provider
//!   fixture through every target, then a bounded random run per target ([`mutate`]), seeded
//!   so that a failure can be replayed.
//!
//! The provider targets parse raw bytes with the same public entry points the webhook
//! adapters use (`shared/webhook/src/adapters.rs`) and check the result with [`checks`].

pub mod checks;
pub mod mutate;
pub mod targets;

/// A fuzz target: its name (the file `fuzz/fuzz_targets/<name>.rs` and the seed folder
/// `fuzz/seeds/<name>/`) and the function that checks its properties on one input.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The cargo-fuzz target's name.
    pub name: &'static str,
    /// Checks the properties on one input; panics when one does not hold.
    pub run: fn(&[u8]),
}

/// Every fuzz target, in the order `make fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "verify_hmac",
        run: targets::verify_hmac::run,
    },
    Target {
        name: "verify_token",
        run: targets::verify_token::run,
    },
    Target {
        name: "keyring",
        run: targets::keyring::run,
    },
    Target {
        name: "voiceinfra",
        run: targets::voiceinfra::run,
    },
    Target {
        name: "hatif_call",
        run: targets::hatif_call::run,
    },
    Target {
        name: "hatif_whatsapp",
        run: targets::hatif_whatsapp::run,
    },
    Target {
        name: "voki",
        run: targets::voki::run,
    },
    Target {
        name: "postcall",
        run: targets::postcall::run,
    },
];
