//! The end-to-end tests, one binary with a module per area (one link instead of one per
//! area): signed HTTP requests to the functions `scripts/stack.sh e2e` serves under
//! `cargo lambda watch`, the real function binaries under the Lambda Runtime API harness, the
//! emulator, and the console in a real browser.

mod console;
mod custody;
mod erase;
mod faults;
mod hatif;
mod hostile;
mod identity;
mod logs;
mod metrics;
mod operations;
mod operator;
mod postcall;
mod query_api;
mod recordings;
mod retention;
mod statuses;
mod voiceinfra;
mod voki;
