//! SIGINT / SIGTERM during `snnc run`: the handler only stores the signal's
//! number in an atomic; the run driver reads it at every step boundary and
//! stops there (recordings flushed to that step, `summary.json` marked
//! interrupted). A second signal ends the process at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::run::RunError;
use snnc_runtime::RuntimeError;

/// (a signal arrived, which one).
static FLAGS: OnceLock<(Arc<AtomicBool>, Arc<AtomicUsize>)> = OnceLock::new();

/// Install the handlers (once per process; later calls do nothing). Until
/// then [`requested`] is always `None`.
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    if FLAGS.get().is_some() {
        return Ok(());
    }
    let got = Arc::new(AtomicBool::new(false));
    let which = Arc::new(AtomicUsize::new(0));
    for signal in [SIGINT, SIGTERM] {
        // Registered first, so it sees the flag of an earlier signal only.
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&got))?;
        signal_hook::flag::register_usize(signal, Arc::clone(&which), signal as usize)?;
        signal_hook::flag::register(signal, Arc::clone(&got))?;
    }
    let _ = FLAGS.set((got, which));
    unblock(&[SIGINT, SIGTERM])
}

/// Take `signals` out of this thread's signal mask (threads started later
/// inherit it). A process can be started with them blocked (a supervisor
/// that waits for SIGTERM itself and forgets to restore the mask for its
/// children): a handler alone would then never run, and `kill -TERM` would
/// leave the run going to its end.
fn unblock(signals: &[i32]) -> std::io::Result<()> {
    // SAFETY: `set` is initialised by sigemptyset before use, and
    // pthread_sigmask only reads it.
    let rc = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        for &s in signals {
            libc::sigaddset(&raw mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &raw const set, std::ptr::null_mut())
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::from_raw_os_error(rc))
    }
}

/// The signal that asked the run to stop, if one did.
#[must_use]
pub fn requested() -> Option<i32> {
    let (got, which) = FLAGS.get()?;
    if got.load(Ordering::Relaxed) {
        Some(which.load(Ordering::Relaxed) as i32)
    } else {
        None
    }
}

/// `Err(Interrupted)` when a signal asked the run to stop before `step`.
pub fn check(step: u64) -> Result<(), RuntimeError> {
    match requested() {
        Some(signal) => Err(RuntimeError::Interrupted { signal, step }),
        None => Ok(()),
    }
}

/// The process exit code for a failed run: 128 + the signal for an
/// interrupted one (130 for SIGINT), 1 otherwise.
#[must_use]
pub fn exit_code(e: &RunError) -> u8 {
    match e {
        RunError::Runtime(RuntimeError::Interrupted { signal, .. }) => {
            u8::try_from(128 + signal).unwrap_or(1)
        }
        _ => 1,
    }
}
