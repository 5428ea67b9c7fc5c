//! Paces the replanning of every learner after a Track change.
//!
//! Handing kube-runtime's scheduler all 10,000 learners of a changed Track at once would put a
//! person's edit, made a second later, behind the whole fan-out. Worse, the scheduler's delay queue
//! (tokio-util's timer wheel) pops requests that fall due in the same slot last-in, first-out, so
//! under a steady inflow an early request can wait until the inflow stops (measured: a 209 s wait
//! at 10,000 learners). Instead the learners wait here: only a window (the caller sets it below
//! the number of concurrent reconciles) is handed on at a time. While a request from a watch event
//! (a person's edit, a bot's signal) waits, the fan-out shrinks to fewer reconciles than the
//! controller runs at once: nothing of it then waits in the scheduler, so the edit finds a free
//! slot and goes next, while the rest of the slots keep the API server busy.
//!
//! A free slot is not enough, though: the edit's status write then queues at the API server
//! behind every fan-out write in flight (Little's law: 64 writes in flight at ~80 writes/s is
//! 0.8 s each, measured up to 4 s at 5,000 learners). The API server reaches its best rate with
//! far fewer writes in flight, so the fan-out's writes pass a gate of their own
//! (`--fanout-writes`), and an edit's write never waits for it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::Stream;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::{Notify, Semaphore, SemaphorePermit};

use crate::api::LearningPath;

/// A request handed on but never reconciled (its object was deleted meanwhile, so kube-runtime
/// skipped it) stops counting against the window after this long.
const FORGET_AFTER: Duration = Duration::from_secs(30);

type Ref = ObjectRef<LearningPath>;

#[derive(Default)]
struct State {
    waiting: VecDeque<Ref>,
    waiting_set: HashSet<Ref>,
    handed_on: HashMap<Ref, Instant>,
    /// Learners with a watch-triggered reconcile pending: they go before any more of the fan-out.
    urgent: HashMap<Ref, Instant>,
}

impl State {
    /// A fan-out, or the first pass after a start, puts every learner into these: emptied, they
    /// keep their buckets (some 8 MB at 10,000 learners) unless given back, and they are.
    fn release_emptied(&mut self) {
        if self.waiting.is_empty() {
            self.waiting.shrink_to_fit();
            self.waiting_set.shrink_to_fit();
        }
        if self.handed_on.is_empty() {
            self.handed_on.shrink_to_fit();
        }
        if self.urgent.is_empty() {
            self.urgent.shrink_to_fit();
        }
    }
}

/// Learners waiting to be replanned because their Track changed.
pub struct FanOut {
    state: Mutex<State>,
    wake: Notify,
    window: usize,
    concurrency: usize,
    writes: Semaphore,
}

impl FanOut {
    /// At most `window` learners are handed to a controller that runs `concurrency` reconciles
    /// at once and not yet reconciled; while watch-triggered reconciles wait, fewer than
    /// `concurrency` minus their number. At most `writes` of their status writes are in flight.
    pub fn new(window: usize, concurrency: usize, writes: usize) -> Arc<Self> {
        Arc::new(FanOut {
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            window: window.max(1),
            concurrency,
            writes: Semaphore::new(writes.max(1)),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements; a panic elsewhere cannot tear it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues learners for replanning; one already waiting keeps its place.
    pub fn enqueue(&self, learners: impl IntoIterator<Item = Ref>) {
        let mut state = self.state();
        for learner in learners {
            if state.waiting_set.insert(learner.clone()) {
                state.waiting.push_back(learner);
            }
        }
        drop(state);
        self.wake.notify_one();
    }

    /// A reconcile of `learner` was requested by a watch event: hold the fan-out until it ran.
    pub fn urgent(&self, learner: Ref) {
        // The first request counts: a later event for the same learner is merged into it.
        self.state()
            .urgent
            .entry(learner)
            .or_insert_with(Instant::now);
    }

    /// How long ago a watch event asked for a reconcile of `learner` that has not run yet.
    pub fn waited(&self, learner: &Ref) -> Option<Duration> {
        self.state().urgent.get(learner).map(Instant::elapsed)
    }

    /// A reconcile of `learner` finished (whatever started it): its slot in the window is free.
    pub fn done(&self, learner: &Ref) {
        let mut state = self.state();
        let freed = state.handed_on.remove(learner).is_some();
        let unblocked = state.urgent.remove(learner).is_some();
        state.release_emptied();
        drop(state);
        if freed || unblocked {
            self.wake.notify_one();
        }
    }

    /// Waits until a status write of `learner` may go out. A fan-out write holds the returned
    /// permit while it is in flight; any other write (an edit, a signal, the startup pass) goes
    /// at once, and so does a fan-out learner whose own edit is waiting.
    pub async fn write_permit(&self, learner: &Ref) -> Option<SemaphorePermit<'_>> {
        let bulk = {
            let state = self.state();
            state.handed_on.contains_key(learner) && !state.urgent.contains_key(learner)
        };
        if !bulk {
            return None;
        }
        // The semaphore is never closed, so `acquire` cannot fail.
        self.writes.acquire().await.ok()
    }

    /// Learners waiting, not yet handed on.
    pub fn waiting(&self) -> usize {
        self.state().waiting.len()
    }

    fn next(&self) -> Option<Ref> {
        let mut state = self.state();
        let now = Instant::now();
        if !state.urgent.is_empty() {
            state
                .urgent
                .retain(|_, since| now.duration_since(*since) < FORGET_AFTER);
        }
        // One slot left for each waiting edit (every slot is taken once they reach the
        // concurrency): none of ours is then pending in the scheduler ahead of them.
        let window = if state.urgent.is_empty() {
            self.window
        } else {
            self.concurrency.saturating_sub(state.urgent.len())
        };
        if state.handed_on.len() >= window {
            state
                .handed_on
                .retain(|_, since| now.duration_since(*since) < FORGET_AFTER);
            if state.handed_on.len() >= window {
                return None;
            }
        }
        let learner = state.waiting.pop_front()?;
        state.waiting_set.remove(&learner);
        state.handed_on.insert(learner.clone(), Instant::now());
        state.release_emptied();
        Some(learner)
    }

    /// The learners to reconcile, paced by the window, for `Controller::reconcile_on`.
    pub fn stream(self: Arc<Self>) -> impl Stream<Item = Ref> + Send + 'static {
        futures::stream::unfold(self, |fanout| async move {
            loop {
                if let Some(learner) = fanout.next() {
                    return Some((learner, fanout));
                }
                // A forgotten request frees its slot without a `done`: look again now and then.
                let _ = tokio::time::timeout(Duration::from_secs(1), fanout.wake.notified()).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn learner(i: usize) -> Ref {
        ObjectRef::new(&format!("learner-{i}")).within("ns")
    }

    #[tokio::test]
    async fn a_finished_fan_out_gives_its_memory_back() {
        let fanout = FanOut::new(4, 8, 4);
        fanout.enqueue((0..1000).map(learner));
        // Edits during the fan-out, each reconciled in turn.
        for i in 1000..1100 {
            fanout.urgent(learner(i));
        }
        for i in 1000..1100 {
            fanout.done(&learner(i));
        }
        let mut stream = Box::pin(fanout.clone().stream());
        for _ in 0..1000 {
            let next = stream.next().await.expect("a learner");
            fanout.done(&next);
        }
        let state = fanout.state();
        assert_eq!(
            [
                state.waiting.capacity(),
                state.waiting_set.capacity(),
                state.handed_on.capacity(),
                state.urgent.capacity(),
            ],
            [0; 4],
            "every learner reconciled: nothing held for them"
        );
    }

    #[tokio::test]
    async fn hands_on_at_most_a_window_until_reconciles_finish() {
        let fanout = FanOut::new(3, 2, 2);
        fanout.enqueue((0..10).map(learner));
        fanout.enqueue([learner(4)]); // already waiting: keeps its place, no duplicate
        let mut stream = Box::pin(fanout.clone().stream());
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(stream.next().await.expect("a learner"));
        }
        assert_eq!(got, vec![learner(0), learner(1), learner(2)]);
        let blocked = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
        assert!(
            blocked.is_err(),
            "a fourth learner before any reconcile finished"
        );

        fanout.done(&learner(1));
        assert_eq!(stream.next().await, Some(learner(3)));
        assert_eq!(fanout.waiting(), 6);
        for i in [0, 2, 3] {
            fanout.done(&learner(i));
        }
        let rest: Vec<Ref> = (0..6)
            .map(|_| {
                let next = fanout.next();
                if let Some(l) = &next {
                    fanout.done(l);
                }
                next.expect("a learner")
            })
            .collect();
        assert_eq!(rest, (4..10).map(learner).collect::<Vec<_>>());
        assert_eq!(fanout.waiting(), 0);
    }

    #[tokio::test]
    async fn a_waiting_edit_keeps_a_free_slot_until_it_ran() {
        // Four reconciles at once, a window of seven.
        let fanout = FanOut::new(7, 4, 4);
        fanout.enqueue((0..20).map(learner));
        for i in 0..3 {
            assert_eq!(fanout.next(), Some(learner(i)));
        }
        fanout.urgent(learner(99));
        fanout.urgent(learner(98));
        assert_eq!(
            fanout.next(),
            None,
            "two edits wait: two of four slots stay free for them"
        );
        fanout.done(&learner(0));
        assert_eq!(fanout.next(), None, "1 and 2 still take the two slots");
        fanout.done(&learner(1));
        assert_eq!(fanout.next(), Some(learner(3)));
        assert_eq!(fanout.next(), None);
        fanout.done(&learner(99));
        assert_eq!(
            fanout.next(),
            Some(learner(4)),
            "one edit waits: three slots"
        );
        assert_eq!(fanout.next(), None);
        fanout.done(&learner(98));
        // No edit waits: the full window of seven again (2, 3, 4 and four more).
        for i in 5..9 {
            assert_eq!(fanout.next(), Some(learner(i)));
        }
        assert_eq!(fanout.next(), None);

        // As many edits as slots: the fan-out stops altogether.
        for k in 0..4 {
            fanout.urgent(learner(90 + k));
        }
        for i in 2..9 {
            fanout.done(&learner(i));
        }
        assert_eq!(fanout.next(), None, "every slot belongs to an edit");
    }

    #[tokio::test]
    async fn a_reconcile_started_elsewhere_does_not_free_a_slot_twice() {
        let fanout = FanOut::new(1, 1, 1);
        fanout.enqueue([learner(0), learner(1)]);
        assert_eq!(fanout.next(), Some(learner(0)));
        fanout.done(&learner(7)); // an edit's reconcile: not ours
        assert_eq!(fanout.next(), None);
        fanout.done(&learner(0));
        assert_eq!(fanout.next(), Some(learner(1)));
    }

    #[tokio::test]
    async fn fan_out_writes_pass_a_gate_that_edits_bypass() {
        let fanout = FanOut::new(4, 4, 2);
        let l: Vec<Ref> = (0..10).map(learner).collect();
        fanout.enqueue(l[..4].iter().cloned());
        for expected in &l[..4] {
            assert_eq!(fanout.next().as_ref(), Some(expected));
        }
        let first = fanout.write_permit(&l[0]).await;
        let second = fanout.write_permit(&l[1]).await;
        assert!(
            first.is_some() && second.is_some(),
            "fan-out writes hold permits"
        );
        let third = tokio::time::timeout(Duration::from_millis(50), fanout.write_permit(&l[2]));
        assert!(
            third.await.is_err(),
            "a third fan-out write waits for a permit"
        );

        // A person's edit (not handed on by the fan-out) goes at once, with no permit.
        fanout.urgent(l[9].clone());
        let edit = tokio::time::timeout(Duration::from_millis(50), fanout.write_permit(&l[9]));
        assert!(
            matches!(edit.await, Ok(None)),
            "an edit's write is never gated"
        );
        // So does a fan-out learner whose own edit is waiting.
        fanout.urgent(l[3].clone());
        let edited = tokio::time::timeout(Duration::from_millis(50), fanout.write_permit(&l[3]));
        assert!(matches!(edited.await, Ok(None)));

        drop(first);
        let third = tokio::time::timeout(Duration::from_millis(50), fanout.write_permit(&l[2]));
        assert!(
            matches!(third.await, Ok(Some(_))),
            "a finished write lets the next one go"
        );
    }
}
