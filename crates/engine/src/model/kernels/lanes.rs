//! Four f32 lanes, the arithmetic of the model worker's CPU kernels: WebAssembly's simd128
//! (`v128`) in the browser, and a portable `[f32; 4]` doing the same operations in the same
//! order, so both give the same bits and the kernels are tested natively.

use std::array;

/// Four f32 lanes: the arithmetic the kernels need.
pub trait Lanes: Copy {
    fn zero() -> Self {
        Self::splat(0.0)
    }
    /// Four floats from `p`.
    ///
    /// # Safety
    /// `p .. p + 4` must be readable.
    unsafe fn load(p: *const f32) -> Self;
    /// `v` in every lane.
    fn splat(v: f32) -> Self;
    /// Stores the four floats at `p`.
    ///
    /// # Safety
    /// `p .. p + 4` must be writable.
    unsafe fn store(self, p: *mut f32);
    /// `a + b`.
    fn add(a: Self, b: Self) -> Self;
    /// `acc + a · b`, rounded twice (no fused multiply-add, so every kind of lanes agrees),
    /// except in a build with relaxed SIMD.
    fn mul_add(acc: Self, a: Self, b: Self) -> Self;
    /// `(l0 + l1) + (l2 + l3)`.
    fn sum(self) -> f32;
}

/// The portable lanes: what the native tests run.
#[derive(Clone, Copy)]
pub struct Portable([f32; 4]);

impl Lanes for Portable {
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller keeps p .. p + 4 readable.
        Portable(unsafe { [*p, *p.add(1), *p.add(2), *p.add(3)] })
    }
    fn splat(v: f32) -> Self {
        Portable([v; 4])
    }
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller keeps p .. p + 4 writable.
        unsafe { std::ptr::copy_nonoverlapping(self.0.as_ptr(), p, 4) }
    }
    fn add(a: Self, b: Self) -> Self {
        Portable(array::from_fn(|i| a.0[i] + b.0[i]))
    }
    fn mul_add(acc: Self, a: Self, b: Self) -> Self {
        Portable(array::from_fn(|i| acc.0[i] + a.0[i] * b.0[i]))
    }
    fn sum(self) -> f32 {
        (self.0[0] + self.0[1]) + (self.0[2] + self.0[3])
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    use super::Lanes;

    #[derive(Clone, Copy)]
    pub struct Simd(v128);

    impl Lanes for Simd {
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller keeps p .. p + 4 readable; v128_load takes any alignment.
            Simd(unsafe { v128_load(p.cast()) })
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            Simd(f32x4_splat(v))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller keeps p .. p + 4 writable; v128_store takes any alignment.
            unsafe { v128_store(p.cast(), self.0) }
        }
        #[inline(always)]
        fn add(a: Self, b: Self) -> Self {
            Simd(f32x4_add(a.0, b.0))
        }
        #[inline(always)]
        fn mul_add(acc: Self, a: Self, b: Self) -> Self {
            // The worker's second build (scripts/build-web.sh) has relaxed SIMD, whose
            // multiply-add is fused where the CPU has FMA: faster, and rounded once.
            #[cfg(target_feature = "relaxed-simd")]
            return Simd(f32x4_relaxed_madd(a.0, b.0, acc.0));
            #[cfg(not(target_feature = "relaxed-simd"))]
            Simd(f32x4_add(acc.0, f32x4_mul(a.0, b.0)))
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            let v = self.0;
            (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
                + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
        }
    }
}
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd::Simd;
