//! Event rates over a period (`conn_rate(10s)`), with HAProxy's estimate: the count of the
//! current period plus the previous period's count weighted by the part of the window not
//! yet covered by the current period.

/// A rate counter over a period given by its table (the period is not stored per entry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FreqCtr {
    /// Start of the current period, in milliseconds of [`crate::now_ms`].
    start: u64,
    curr: u32,
    prev: u32,
}

impl FreqCtr {
    /// Rotates the periods so that `now` falls in the current one.
    fn rotate(&mut self, now: u64, period: u64) {
        let period = period.max(1);
        let elapsed = now.saturating_sub(self.start);
        if elapsed < period {
            return;
        }
        if elapsed < 2 * period {
            self.prev = self.curr;
            self.start += period;
        } else {
            // Two periods or more without an event: nothing of the past is left.
            self.prev = 0;
            self.start = now;
        }
        self.curr = 0;
    }

    /// Counts `inc` events at `now`; returns the current period's count.
    pub fn add(&mut self, now: u64, period: u64, inc: u32) -> u32 {
        if self.start == 0 && self.curr == 0 && self.prev == 0 {
            self.start = now;
        }
        self.rotate(now, period);
        self.curr = self.curr.saturating_add(inc);
        self.curr
    }

    /// The raw state: start of the current period, its count, the previous period's count
    /// (what the peers protocol carries).
    pub fn parts(&self) -> (u64, u32, u32) {
        (self.start, self.curr, self.prev)
    }

    /// A counter from its raw state (see [`FreqCtr::parts`]).
    pub fn from_parts(start: u64, curr: u32, prev: u32) -> FreqCtr {
        FreqCtr { start, curr, prev }
    }

    /// The estimated number of events over the last `period` at `now`.
    pub fn read(&self, now: u64, period: u64) -> u32 {
        let period = period.max(1);
        let mut curr = u64::from(self.curr);
        let mut past = u64::from(self.prev);
        let end = self.start + period;
        // What remains of the window that the previous period still covers.
        let remain = if now < end {
            end - now
        } else if now < end + period {
            past = curr;
            curr = 0;
            end + period - now
        } else {
            return 0;
        };
        let estimate = curr + past * remain / period;
        u32::try_from(estimate).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::FreqCtr;

    #[test]
    fn counts_within_the_period() {
        let mut c = FreqCtr::default();
        for t in [1000, 1100, 1200] {
            c.add(t, 1000, 1);
        }
        assert_eq!(c.read(1300, 1000), 3);
    }

    #[test]
    fn previous_period_fades_linearly() {
        let mut c = FreqCtr::default();
        for _ in 0..10 {
            c.add(1000, 1000, 1);
        }
        // A quarter into the next period: three quarters of the past count.
        assert_eq!(c.read(2250, 1000), 7);
        c.add(2250, 1000, 1);
        assert_eq!(c.read(2250, 1000), 8);
        // Half-way: half of the past count plus the current one.
        assert_eq!(c.read(2500, 1000), 6);
    }

    #[test]
    fn nothing_left_after_two_periods() {
        let mut c = FreqCtr::default();
        c.add(1000, 1000, 5);
        assert_eq!(c.read(3000, 1000), 0);
        c.add(3500, 1000, 1);
        assert_eq!(c.read(3500, 1000), 1);
    }
}
