//! Per-channel pacing: a sliding-window limit (DingTalk and WeCom robots take about 20
//! messages a minute and mute a robot that sends more) and the retry backoff. Messages
//! over the limit wait in the outbox; nothing is dropped.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::config::{RateLimit, Retry};

/// At most `max` sends in any window of length `per`.
///
/// Sends are recorded when they COMPLETE (the response arrived): the next send then
/// starts at least `per` after the response of the send `max` places earlier, so even
/// by arrival time at the receiver no window holds more than `max` messages.
#[derive(Debug)]
pub struct SlidingWindow {
    max: usize,
    per: Duration,
    recent: VecDeque<Instant>,
}

impl SlidingWindow {
    pub fn new(limit: RateLimit) -> SlidingWindow {
        let max = usize::try_from(limit.messages.max(1)).unwrap_or(usize::MAX);
        SlidingWindow {
            max,
            per: limit.per,
            recent: VecDeque::with_capacity(max.min(1024)),
        }
    }

    /// How long to wait before the next send may start (None: now).
    pub fn wait_time(&mut self, now: Instant) -> Option<Duration> {
        while let Some(&front) = self.recent.front() {
            if now.duration_since(front) >= self.per {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() < self.max {
            return None;
        }
        let front = *self.recent.front()?;
        Some((front + self.per).saturating_duration_since(now))
    }

    /// Waits until a send may start.
    pub async fn acquire(&mut self) {
        // Bounded: each wait ends when the oldest entry leaves the window.
        for _ in 0..1_000_000 {
            match self.wait_time(Instant::now()) {
                None => return,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// Records a completed send (successful or not: the remote counted it either way).
    pub fn record(&mut self, done: Instant) {
        self.recent.push_back(done);
        if self.recent.len() > self.max {
            self.recent.pop_front();
        }
    }
}

/// Delay before attempt `attempt + 1` after `attempt` failures (1-based): doubling from
/// `initial_backoff`, capped at `max_backoff`.
pub fn backoff(retry: &Retry, attempt: u32) -> Duration {
    let shift = attempt.saturating_sub(1).min(30);
    retry
        .initial_backoff
        .saturating_mul(1u32 << shift)
        .min(retry.max_backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_admits_max_then_waits_for_the_oldest() {
        let mut w = SlidingWindow::new(RateLimit {
            messages: 3,
            per: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(w.wait_time(t0 + Duration::from_secs(i)), None);
            w.record(t0 + Duration::from_secs(i));
        }
        assert_eq!(
            w.wait_time(t0 + Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(w.wait_time(t0 + Duration::from_secs(10)), None);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let r = Retry {
            max_attempts: 10,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
        };
        let got: Vec<u64> = (1..=5).map(|a| backoff(&r, a).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 4, 5, 5]);
    }
}
