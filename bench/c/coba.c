/*
 * COBA (Vogels & Abbott 2005; Brette et al. 2007 benchmark 1), hand-written:
 * the speed-of-light line of the benchmark suite (bench/run.py).
 *
 * The model of bench/MODELS.md, integrated as Brian2 does it
 * (forward Euler, dt = 0.1 ms, v clamped while refractory, 5 ms refractory
 * period counted in whole steps, the same order within a step: state update,
 * threshold, spike propagation, reset):
 *   dv/dt  = (ge (Ee - v) + gi (Ei - v) - (v - El)) / taum
 *   dge/dt = -ge / taue,  dgi/dt = -gi / taui     (ge, gi in units of 10 nS)
 *   4000 neurons (3200 E, 800 I), p = 0.02 onto all 4000 (self-connections
 *   allowed, as in Brian2), ge += 0.6 per E spike, gi += 6.7 per I spike.
 *   v0 = El + (5 N(0,1) - 5) mV, ge0 = 1.5 N(0,1) + 4, gi0 = 12 N(0,1) + 20.
 *
 * The neuron loop is branch-free (gcc vectorises it at -O3 -march=native
 * -fno-trapping-math; without that flag gcc will not if-convert it); connectivity is CSR by presynaptic neuron (int32 targets).
 * REAL defaults to float; build with -DREAL=double for double precision.
 *
 * Usage: coba [duration_s=1.0] [seed=42]
 * Prints one JSON object: setup_s, sim_s, steps, spikes per population,
 * rates, synaptic events, peak memory (VmHWM).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef REAL
#define REAL float
#endif

#define N 4000
#define NE 3200
#define P_CONN 0.02
_Static_assert(N % 32 == 0, "N must be a multiple of the 32-neuron block");

/* State as fixed-size static arrays: no aliasing, so the loop vectorises. */
static REAL v[N] __attribute__((aligned(64)));
static REAL ge[N] __attribute__((aligned(64)));
static REAL gi[N] __attribute__((aligned(64)));
static int32_t last[N] __attribute__((aligned(64)));
static int32_t spiked[N] __attribute__((aligned(64)));
static int32_t spikes[N];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* xoshiro256** */
static uint64_t s[4];
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t next_u64(void) {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return r;
}
static double uniform(void) { return (double)(next_u64() >> 11) * 0x1.0p-53; }
static double randn(void) {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
static void seed_rng(uint64_t seed) {
    uint64_t z = seed;
    for (int i = 0; i < 4; i++) { /* splitmix64 */
        z += 0x9e3779b97f4a7c15ULL;
        uint64_t x = z;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        s[i] = x ^ (x >> 31);
    }
}

static long vm_hwm_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) { kib = atol(line + 6); break; }
    fclose(f);
    return kib;
}

int main(int argc, char **argv) {
    double duration = argc > 1 ? atof(argv[1]) : 1.0;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
    const double dt = 1e-4;
    const long steps = lround(duration / dt);
    const int ref_steps = 50; /* 5 ms */

    /* Constants in SI units (volts, seconds). */
    const REAL taum = 20e-3, taue = 5e-3, taui = 10e-3;
    const REAL El = -60e-3, Vt = -50e-3, Vr = -60e-3, Ee = 0.0, Ei = -80e-3;
    const REAL we = 0.6, wi = 6.7;
    const REAL dt_taum = (REAL)dt / taum;
    const REAL de = (REAL)1.0 - (REAL)dt / taue; /* forward Euler decay */
    const REAL di = (REAL)1.0 - (REAL)dt / taui;

    double t0 = now();
    seed_rng(seed);


    for (int i = 0; i < N; i++) v[i] = El + (REAL)((5.0 * randn() - 5.0) * 1e-3);
    for (int i = 0; i < N; i++) ge[i] = (REAL)(1.5 * randn() + 4.0);
    for (int i = 0; i < N; i++) gi[i] = (REAL)(12.0 * randn() + 20.0);
    for (int i = 0; i < N; i++) last[i] = -1000000;

    /* CSR connectivity by presynaptic neuron, geometric skipping. */
    int64_t *rowptr = malloc((N + 1) * sizeof(int64_t));
    size_t cap = (size_t)(N * (double)N * P_CONN * 1.2) + 1024, nnz = 0;
    int32_t *col = malloc(cap * sizeof(int32_t));
    const double log1mp = log(1.0 - P_CONN);
    for (int i = 0; i < N; i++) {
        rowptr[i] = (int64_t)nnz;
        long j = -1;
        for (;;) {
            double u = uniform();
            if (u < 1e-300) u = 1e-300;
            j += 1 + (long)floor(log(u) / log1mp);
            if (j >= N) break;
            if (nnz == cap) { cap *= 2; col = realloc(col, cap * sizeof(int32_t)); }
            col[nnz++] = (int32_t)j;
        }
    }
    rowptr[N] = (int64_t)nnz;
    double t1 = now();

    uint64_t spk_e = 0, spk_i = 0, events = 0;
    for (long step = 0; step < steps; step++) {
        const int32_t st = (int32_t)step;
        /* State update + threshold: branch-free, vectorised. */
        for (int i = 0; i < N; i++) {
            REAL vi = v[i], gei = ge[i], gii = gi[i];
            int nr = (st - last[i]) >= ref_steps;
            REAL dv = (gei * (Ee - vi) + gii * (Ei - vi) - (vi - El)) * dt_taum;
            vi = nr ? vi + dv : vi;
            ge[i] = gei * de;
            gi[i] = gii * di;
            int sp = nr & (vi > Vt);
            spiked[i] = sp;
            v[i] = sp ? Vr : vi; /* reset (applied after propagation in Brian2; same effect) */
            last[i] = sp ? st : last[i];
        }
        /* Compact the spikes. */
        int ns = 0;
        for (int b = 0; b < N; b += 32) { /* skip spike-free blocks (vectorised OR) */
            int any = 0;
            for (int i = b; i < b + 32; i++) any |= spiked[i];
            if (!any) continue;
            for (int i = b; i < b + 32; i++) {
                spikes[ns] = i;
                ns += spiked[i];
            }
        }
        /* Propagate. */
        for (int k = 0; k < ns; k++) {
            int i = spikes[k];
            int64_t a = rowptr[i], b = rowptr[i + 1];
            events += (uint64_t)(b - a);
            if (i < NE) {
                spk_e++;
                for (int64_t q = a; q < b; q++) ge[col[q]] += we;
            } else {
                spk_i++;
                for (int64_t q = a; q < b; q++) gi[col[q]] += wi;
            }
        }
    }
    double t2 = now();

    double sim_t = (double)steps * dt;
    printf("{\"tool\": \"c\", \"model\": \"coba\", \"real\": \"%s\", \"setup_s\": %.6f, \"sim_s\": %.6f, "
           "\"steps\": %ld, \"synapses\": %zu, \"spikes\": {\"E\": %llu, \"I\": %llu}, "
           "\"rates_hz\": {\"E\": %.4f, \"I\": %.4f, \"all\": %.4f}, \"synaptic_events\": %llu, "
           "\"peak_rss_kib\": %ld}\n",
           sizeof(REAL) == 4 ? "f32" : "f64", t1 - t0, t2 - t1, steps, nnz,
           (unsigned long long)spk_e, (unsigned long long)spk_i,
           spk_e / (NE * sim_t), spk_i / ((N - NE) * sim_t), (spk_e + spk_i) / (N * sim_t),
           (unsigned long long)events, vm_hwm_kib());
    return 0;
}
