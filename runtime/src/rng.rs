//! Counter-based random numbers: every draw of a run is a pure function of
//! `(seed, purpose, index, sub-index, batch item, draw number)`.
//!
//! Why counter-based: the same model must give the same numbers on one thread,
//! on many threads and on a GPU. A stateful generator ties each value to the
//! order in which draws happened; Philox4x32-10 (Salmon et al., SC'11) maps a
//! 64-bit key and a 128-bit counter to four 32-bit words with no carried state,
//! so each neuron, row or synapse can compute its own draws in any order.
//!
//! # The addressing scheme (frozen: the GPU backend reproduces it)
//!
//! * **Key** (2 words): `k = splitmix64(splitmix64(seed) ^ purpose.code())`,
//!   `key = [k as u32, (k >> 32) as u32]`. [`Purpose::code`] packs a tag (high
//!   32 bits) and the object's id (low 32 bits), so each projection's
//!   connectivity, each projection's weights, each population's initial values
//!   … gets an unrelated key.
//! * **Counter** (4 words): `[block, index, sub, batch]`:
//!   `index` is the neuron (or presynaptic row), `sub` is the time step for
//!   per-step noise or the position within the row for per-synapse values,
//!   `batch` is the batch item, and `block` counts the 4-word blocks drawn for
//!   that address (most addresses need one block). Several draws at one
//!   address (two `rand()` calls in one model body) take successive words of
//!   the same [`Stream`] in the order the IR lists them, so every backend must
//!   evaluate draws in that order.
//!
//! # Turning words into numbers (frozen)
//!
//! * [`uniform_f64`]: two words `lo, hi` → `(((hi << 20) | (lo >> 12)) + 0.5) · 2⁻⁵²`,
//!   i.e. 52 random bits centred in their cell: strictly inside (0, 1), exact
//!   in `f64` (with 53 bits, the top cell's centre 2⁵³ − ½ would round to 1).
//! * [`uniform_f32`]: one word → `((w >> 9) + 0.5) · 2⁻²³` (the `rand_philox`
//!   convention), strictly inside (0, 1), exact in `f32`.
//! * [`normal_f64`]: one block `[w0, w1, w2, w3]` → Box–Muller, cosine branch
//!   only: `u1 = uniform_f64(w0, w1)`, `u2 = uniform_f64(w2, w3)`,
//!   `z = sqrt(-2 ln u1) · cos(2π u2)`. The sine branch is thrown away so one
//!   normal is exactly one block, which keeps every normal addressable alone.
//! * [`Stream::bounded`]: Lemire's multiply-and-reject on single words.

/// Round multipliers and key bumps of Philox4x32 (Random123's
/// `PHILOX_M4x32_{0,1}` and `PHILOX_W32_{0,1}`).
const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

/// Philox4x32-10: the block function. Written out here (rather than calling
/// `rand_philox`) because it is the reference a GPU kernel must mirror line by
/// line; the tests check it against the crate and the Random123 known answers.
#[must_use]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
        let p0 = u64::from(PHILOX_M0) * u64::from(c[0]);
        let p1 = u64::from(PHILOX_M1) * u64::from(c[2]);
        c = [
            ((p1 >> 32) as u32) ^ c[1] ^ k[0],
            p1 as u32,
            ((p0 >> 32) as u32) ^ c[3] ^ k[1],
            p0 as u32,
        ];
    }
    c
}

/// SplitMix64's finalizer: spreads low-entropy inputs (seed 1, 2, 3…) over all
/// 64 bits so neighbouring seeds and purposes give unrelated keys.
#[must_use]
pub fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What a family of draws is for. Each purpose (and each object id inside it)
/// gets its own Philox key, so adding a projection never shifts the numbers of
/// another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Which synapses exist (fixed_prob, fixed_in/out_degree) of a projection.
    Connectivity { projection: u32 },
    /// Per-synapse weights of a projection.
    Weights { projection: u32 },
    /// Per-synapse delays of a projection.
    Delays { projection: u32 },
    /// Per-neuron initial values and overrides of a population.
    InitialValues { population: u32 },
    /// Per-neuron, per-step draws inside model bodies of a population.
    ModelNoise { population: u32 },
    /// Per-neuron, per-step draws of an injection (stimulus expression).
    Injection { injection: u32 },
    /// Spike generators (Poisson sources) of a population.
    SpikeSource { population: u32 },
}

impl Purpose {
    /// The 64-bit code mixed into the key: tag in the high word, id in the low.
    #[must_use]
    pub fn code(self) -> u64 {
        let (tag, id) = match self {
            Purpose::Connectivity { projection } => (1u64, projection),
            Purpose::Weights { projection } => (2, projection),
            Purpose::Delays { projection } => (3, projection),
            Purpose::InitialValues { population } => (4, population),
            Purpose::ModelNoise { population } => (5, population),
            Purpose::Injection { injection } => (6, injection),
            Purpose::SpikeSource { population } => (7, population),
        };
        (tag << 32) | u64::from(id)
    }
}

/// The Philox key for `(seed, purpose)`; see the module docs for the formula.
#[must_use]
pub fn key_for(seed: u64, purpose: Purpose) -> [u32; 2] {
    let k = splitmix64(splitmix64(seed) ^ purpose.code());
    [k as u32, (k >> 32) as u32]
}

/// Uniform on the open interval (0, 1) from two words (52 random bits).
#[must_use]
pub fn uniform_f64(lo: u32, hi: u32) -> f64 {
    let bits = (u64::from(hi) << 20) | (u64::from(lo) >> 12);
    (bits as f64 + 0.5) * (1.0 / 4_503_599_627_370_496.0) // 2^-52
}

/// Uniform on the open interval (0, 1) from one word (23 random bits: in
/// `[2²², 2²³)` every half-integer is exact, so the result never rounds to 1).
#[must_use]
pub fn uniform_f32(word: u32) -> f32 {
    ((word >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0)
}

/// Standard normal from one block (Box–Muller, cosine branch).
#[must_use]
pub fn normal_f64(block: [u32; 4]) -> f64 {
    let u1 = uniform_f64(block[0], block[1]);
    let u2 = uniform_f64(block[2], block[3]);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A sequence of draws at one address `(key, index, sub, batch)`: block 0,
/// block 1, … of that address, served one word at a time.
///
/// Cheap to create (no state beyond the address), so code makes one per
/// neuron, row or synapse rather than sharing one across them.
#[derive(Debug, Clone)]
pub struct Stream {
    key: [u32; 2],
    index: u32,
    sub: u32,
    batch: u32,
    next_block: u32,
    buf: [u32; 4],
    used: usize,
}

impl Stream {
    /// The stream of `(seed, purpose)` at `(index, sub, batch)`, from block 0.
    #[must_use]
    pub fn new(seed: u64, purpose: Purpose, index: u32, sub: u32, batch: u32) -> Self {
        Self::from_key(key_for(seed, purpose), index, sub, batch)
    }

    /// Same as [`Stream::new`] with a key computed once by [`key_for`] (rows of
    /// a projection share the key; computing it per row would be wasted work).
    #[must_use]
    pub fn from_key(key: [u32; 2], index: u32, sub: u32, batch: u32) -> Self {
        Self {
            key,
            index,
            sub,
            batch,
            next_block: 0,
            buf: [0; 4],
            used: 4,
        }
    }

    /// The next whole block (discarding what is left of the current one), so
    /// that a normal draw always consumes exactly one block.
    pub fn next_block(&mut self) -> [u32; 4] {
        let block = philox4x32_10(
            [self.next_block, self.index, self.sub, self.batch],
            self.key,
        );
        // 2^32 blocks per address: a row would need 16 Gi words to wrap.
        self.next_block = self.next_block.wrapping_add(1);
        self.used = 4;
        block
    }

    /// The next word of the stream.
    pub fn next_u32(&mut self) -> u32 {
        if self.used >= 4 {
            self.buf = self.next_block();
            self.used = 0;
        }
        let w = self.buf[self.used];
        self.used += 1;
        w
    }

    /// Uniform in (0, 1) from the next two words.
    pub fn uniform(&mut self) -> f64 {
        let lo = self.next_u32();
        let hi = self.next_u32();
        uniform_f64(lo, hi)
    }

    /// Standard normal from the next whole block.
    pub fn normal(&mut self) -> f64 {
        normal_f64(self.next_block())
    }

    /// Unbiased integer in `[0, n)` (Lemire's method). `n` must be ≥ 1; with
    /// `n == 0` it returns 0 rather than panicking.
    pub fn bounded(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let n64 = u64::from(n);
        let mut m = u64::from(self.next_u32()) * n64;
        if (m as u32) < n {
            let threshold = ((1u64 << 32) % n64) as u32;
            while (m as u32) < threshold {
                m = u64::from(self.next_u32()) * n64;
            }
        }
        (m >> 32) as u32
    }
}

/// A distribution a value can be drawn from, per synapse or per neuron.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Always this value (no draw is made).
    Constant(f64),
    /// `uniform(a, b)`: `a + (b - a) · U`.
    Uniform { low: f64, high: f64 },
    /// `normal(mu, sigma)`: `mu + sigma · Z`. Not clipped.
    Normal { mean: f64, sd: f64 },
    /// `lognormal(median, sigma)`: `median · exp(sigma · Z)`, so the log of
    /// the value is normal(ln median, sigma) and the sign is the median's.
    LogNormal { median: f64, sigma: f64 },
    /// `clip(inner, low, high)`: a draw of `inner` moved into `[low, high]`
    /// (clipped, never redrawn: the explicit alternative to the redraw rule
    /// of weights and delays, see `synapse_values`).
    Clipped {
        inner: Box<Distribution>,
        low: f64,
        high: f64,
    },
}

impl Distribution {
    /// One value, drawing from `stream` as needed. Uniform uses two words,
    /// normal and lognormal one block.
    pub fn sample(&self, stream: &mut Stream) -> f64 {
        match self {
            Distribution::Constant(v) => *v,
            Distribution::Uniform { low, high } => low + (high - low) * stream.uniform(),
            Distribution::Normal { mean, sd } => mean + sd * stream.normal(),
            Distribution::LogNormal { median, sigma } => median * (sigma * stream.normal()).exp(),
            // max then min rather than `clamp`, which panics on low > high.
            Distribution::Clipped { inner, low, high } => inner.sample(stream).max(*low).min(*high),
        }
    }

    /// Whether every draw gives the same value (so tables can store it once).
    #[must_use]
    pub fn constant_value(&self) -> Option<f64> {
        match *self {
            Distribution::Constant(v) => Some(v),
            _ => None,
        }
    }

    /// The probability that one draw is at least `x` (what the redraw rule
    /// of delays keeps, `x` = dt / 2). Exact for every distribution: the
    /// normal's and the lognormal's tails come from `erfc`.
    #[must_use]
    pub fn probability_at_least(&self, x: f64) -> f64 {
        let at_least = |v: f64| if v >= x { 1.0 } else { 0.0 };
        // P(Z ≥ z) for a standard normal Z.
        let upper_tail = |z: f64| 0.5 * libm::erfc(z / std::f64::consts::SQRT_2);
        match self {
            Distribution::Constant(v) => at_least(*v),
            Distribution::Uniform { low, high } if high > low => {
                ((high - x) / (high - low)).clamp(0.0, 1.0)
            }
            Distribution::Uniform { low, .. } => at_least(*low),
            Distribution::Normal { mean, sd } if *sd > 0.0 => upper_tail((x - mean) / sd),
            Distribution::Normal { mean, .. } => at_least(*mean),
            Distribution::LogNormal { median, sigma } if *sigma > 0.0 && *median != 0.0 => {
                // median · e^(σZ) ≥ x: for a positive median Z ≥ ln(x / m) / σ,
                // for a negative one e^(σZ) ≤ x / m, i.e. Z ≤ ln(x / m) / σ.
                match (*median > 0.0, x / median > 0.0) {
                    (true, true) => upper_tail((x / median).ln() / sigma),
                    (true, false) => 1.0,
                    (false, true) => 1.0 - upper_tail((x / median).ln() / sigma),
                    (false, false) => 0.0,
                }
            }
            Distribution::LogNormal { median, .. } => at_least(*median),
            Distribution::Clipped { inner, low, high } => {
                if x > *high {
                    0.0
                } else if x <= *low {
                    1.0
                } else {
                    inner.probability_at_least(x)
                }
            }
        }
    }

    /// The value whose sign a drawn weight keeps: the mean of `uniform` and
    /// `normal`, the median of `lognormal`. `None` for a constant and for a
    /// clipped draw, which are never redrawn.
    #[must_use]
    pub fn centre(&self) -> Option<f64> {
        match *self {
            Distribution::Uniform { low, high } => Some(0.5 * (low + high)),
            Distribution::Normal { mean, .. } => Some(mean),
            Distribution::LogNormal { median, .. } => Some(median),
            Distribution::Constant(_) | Distribution::Clipped { .. } => None,
        }
    }
}
