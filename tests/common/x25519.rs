//! X25519 (RFC 7748 §5) for tests only: ring's key agreement cannot import a fixed private
//! key, and the RFC 8448 trace starts from one. Straightforward and not constant time, which
//! is fine for known test keys and nothing else.

/// A field element mod p = 2^255 - 19 in five 51-bit limbs, little-endian.
#[derive(Clone, Copy)]
struct Fe([u64; 5]);

const MASK: u64 = (1 << 51) - 1;

impl Fe {
    const ZERO: Fe = Fe([0; 5]);
    const ONE: Fe = Fe([1, 0, 0, 0, 0]);

    fn from_bytes(bytes: &[u8; 32]) -> Fe {
        let mut b = *bytes;
        // RFC 7748 §5: the top bit of a u-coordinate is ignored.
        b[31] &= 0x7f;
        let word = |i: usize| -> u64 {
            let mut w = [0u8; 8];
            let end = (i + 8).min(32);
            w[..end - i].copy_from_slice(&b[i..end]);
            u64::from_le_bytes(w)
        };
        Fe([
            word(0) & MASK,
            (word(6) >> 3) & MASK,
            (word(12) >> 6) & MASK,
            (word(19) >> 1) & MASK,
            (word(24) >> 12) & MASK,
        ])
    }

    fn to_bytes(self) -> [u8; 32] {
        let mut l = self.carry().carry().0;
        // Now l < 2^255 + small; subtract p once if the value is ≥ p: q is 1 exactly then.
        let mut q = (l[0] + 19) >> 51;
        for limb in &l[1..] {
            q = (limb + q) >> 51;
        }
        l[0] += 19 * q;
        for i in 0..4 {
            l[i + 1] += l[i] >> 51;
            l[i] &= MASK;
        }
        l[4] &= MASK;
        let mut out = [0u8; 32];
        let mut acc: u128 = 0;
        let mut bits = 0;
        let mut pos = 0;
        for limb in l {
            acc |= u128::from(limb) << bits;
            bits += 51;
            while bits >= 8 && pos < 32 {
                out[pos] = acc as u8;
                acc >>= 8;
                bits -= 8;
                pos += 1;
            }
        }
        if pos < 32 {
            out[pos] = acc as u8;
        }
        out
    }

    fn carry(self) -> Fe {
        let mut l = self.0;
        for i in 0..4 {
            l[i + 1] += l[i] >> 51;
            l[i] &= MASK;
        }
        let c = l[4] >> 51;
        l[4] &= MASK;
        // 2^255 ≡ 19 (mod p).
        l[0] += 19 * c;
        Fe(l)
    }

    fn add(self, o: Fe) -> Fe {
        let mut l = self.0;
        for (a, b) in l.iter_mut().zip(o.0) {
            *a += b;
        }
        Fe(l).carry()
    }

    fn sub(self, o: Fe) -> Fe {
        // Add 2p before subtracting so no limb goes negative (inputs are carried, < 2^52).
        let two_p = [2 * (MASK - 18), 2 * MASK, 2 * MASK, 2 * MASK, 2 * MASK];
        let mut l = [0u64; 5];
        for i in 0..5 {
            l[i] = self.0[i] + two_p[i] - o.0[i];
        }
        Fe(l).carry()
    }

    fn mul(self, o: Fe) -> Fe {
        let a = self.0.map(u128::from);
        let b = o.0.map(u128::from);
        let mut r = [0u128; 5];
        for i in 0..5 {
            for j in 0..5 {
                let product = a[i] * b[j];
                if i + j < 5 {
                    r[i + j] += product;
                } else {
                    // Limb 5+k is 2^255 · 2^(51k) ≡ 19 · 2^(51k).
                    r[i + j - 5] += 19 * product;
                }
            }
        }
        let mut l = [0u64; 5];
        let mut c: u128 = 0;
        for i in 0..5 {
            let v = r[i] + c;
            l[i] = (v as u64) & MASK;
            c = v >> 51;
        }
        // Fold the top carry in u128: 19 · c can exceed 64 bits before it is carried.
        let v0 = u128::from(l[0]) + 19 * c;
        l[0] = (v0 as u64) & MASK;
        l[1] += (v0 >> 51) as u64;
        Fe(l).carry()
    }

    fn square(self) -> Fe {
        self.mul(self)
    }

    /// self^(p-2) = self^-1 (Fermat), by plain square-and-multiply over the bits of p - 2.
    fn invert(self) -> Fe {
        // p - 2 = 2^255 - 21: bits 254..5 are all ones, then 01011.
        let mut result = Fe::ONE;
        for bit in (0..255).rev() {
            result = result.square();
            let set = bit >= 5 || (0b01011 >> bit) & 1 == 1;
            if set {
                result = result.mul(self);
            }
        }
        result
    }
}

/// X25519(scalar, u) per RFC 7748 §5 (Montgomery ladder, clamped scalar).
pub fn x25519(scalar: &[u8; 32], u: &[u8; 32]) -> [u8; 32] {
    let mut k = *scalar;
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    let x1 = Fe::from_bytes(u);
    let a24 = Fe([121_665, 0, 0, 0, 0]);
    let (mut x2, mut z2, mut x3, mut z3) = (Fe::ONE, Fe::ZERO, x1, Fe::ONE);
    let mut swap = 0u8;
    for t in (0..255).rev() {
        let bit = (k[t / 8] >> (t % 8)) & 1;
        swap ^= bit;
        if swap == 1 {
            core::mem::swap(&mut x2, &mut x3);
            core::mem::swap(&mut z2, &mut z3);
        }
        swap = bit;
        let a = x2.add(z2);
        let aa = a.square();
        let b = x2.sub(z2);
        let bb = b.square();
        let e = aa.sub(bb);
        let c = x3.add(z3);
        let d = x3.sub(z3);
        let da = d.mul(a);
        let cb = c.mul(b);
        x3 = da.add(cb).square();
        z3 = x1.mul(da.sub(cb).square());
        x2 = aa.mul(bb);
        z2 = e.mul(aa.add(a24.mul(e)));
    }
    if swap == 1 {
        core::mem::swap(&mut x2, &mut x3);
        core::mem::swap(&mut z2, &mut z3);
    }
    x2.mul(z2.invert()).to_bytes()
}

/// The public key of `scalar`: X25519 with the base point u = 9.
pub fn public_key(scalar: &[u8; 32]) -> [u8; 32] {
    let mut nine = [0u8; 32];
    nine[0] = 9;
    x25519(scalar, &nine)
}

#[test]
fn matches_the_rfc7748_section_5_2_vector() {
    let scalar =
        super::unhex_array("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
    let u = super::unhex_array("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
    assert_eq!(
        super::hex(&x25519(&scalar, &u)),
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
    );
}
