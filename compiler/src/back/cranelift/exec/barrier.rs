//! The per-step barrier of the JIT's worker threads.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// A barrier that spins briefly (a step is microseconds, so sleeping at once
/// would cost more than the work) and then sleeps, so that an oversubscribed
/// machine does not burn the time slice the other thread needs.
pub(super) struct SpinBarrier {
    n: usize,
    count: AtomicUsize,
    generation: AtomicUsize,
    sleepers: AtomicUsize,
    /// Set when a thread panicked: every wait returns at once.
    broken: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl SpinBarrier {
    pub(super) fn new(n: usize) -> Self {
        Self {
            n,
            count: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            broken: AtomicBool::new(false),
            lock: Mutex::new(()),
            cv: Condvar::new(),
        }
    }
    /// Release every waiter now and make later waits return at once.
    pub(super) fn break_all(&self) {
        self.broken.store(true, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
        let _l = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.cv.notify_all();
    }

    pub(super) fn wait(&self) {
        if self.n <= 1 || self.broken.load(Ordering::SeqCst) {
            return;
        }
        let g = self.generation.load(Ordering::SeqCst);
        if self.count.fetch_add(1, Ordering::SeqCst) + 1 == self.n {
            self.count.store(0, Ordering::SeqCst);
            self.generation.fetch_add(1, Ordering::SeqCst);
            if self.sleepers.load(Ordering::SeqCst) > 0 {
                let _l = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
                self.cv.notify_all();
            }
            return;
        }
        for _ in 0..4000 {
            if self.generation.load(Ordering::SeqCst) != g || self.broken.load(Ordering::SeqCst) {
                return;
            }
            std::hint::spin_loop();
        }
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut l = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        while self.generation.load(Ordering::SeqCst) == g && !self.broken.load(Ordering::SeqCst) {
            l = self
                .cv
                .wait_timeout(l, Duration::from_millis(1))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(l);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Dropped when a worker's step loop ends; if it ends by a panic, the
/// barrier is broken and `stop_at` set to step 0, so that the other threads
/// leave at their next barrier instead of waiting for this one for ever.
pub(super) struct ReleaseOnPanic<'a> {
    pub(super) barrier: &'a SpinBarrier,
    pub(super) stop_at: &'a AtomicU64,
}

impl Drop for ReleaseOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.stop_at.store(0, Ordering::Release);
            self.barrier.break_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SpinBarrier;

    #[test]
    fn a_broken_barrier_releases_its_waiters_and_every_later_wait() {
        // Three parties, two arrive: without `break_all` they wait for ever.
        let barrier = SpinBarrier::new(3);
        std::thread::scope(|scope| {
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        barrier.wait();
                    })
                })
                .collect();
            std::thread::sleep(std::time::Duration::from_millis(50));
            barrier.break_all();
            for w in waiters {
                w.join().unwrap();
            }
        });
    }

    #[test]
    fn a_barrier_of_two_lets_both_through_many_times() {
        let barrier = SpinBarrier::new(2);
        let crossed = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        barrier.wait();
                        crossed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(crossed.into_inner(), 20_000);
    }
}
