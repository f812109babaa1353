//! HAProxy's variable-length integers, as SPOE, the binary header lists (`req.hdrs_bin`,
//! `add-headers-bin`) and the peers protocol write them: below 240 one byte; else the low
//! 4 bits with the top 4 bits set, then 7 bits per byte, the high bit marking that more
//! follow.

/// Why a varint could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The bytes end inside the integer.
    Truncated,
    /// More bytes than 64 bits need.
    TooLong,
}

/// Appends `v`.
pub fn put(out: &mut Vec<u8>, mut v: u64) {
    if v < 240 {
        out.push(v as u8);
        return;
    }
    out.push((v as u8) | 240);
    v = (v - 240) >> 4;
    while v >= 128 {
        out.push((v as u8) | 128);
        v = (v - 128) >> 7;
    }
    out.push(v as u8);
}

/// The integer at the start of `input` and how many bytes it took.
pub fn get(input: &[u8]) -> Result<(u64, usize), Error> {
    let first = *input.first().ok_or(Error::Truncated)?;
    let mut v = u64::from(first);
    let mut used = 1;
    if first < 240 {
        return Ok((v, used));
    }
    // The encoding subtracted what each marker bit adds back here: the sum is exact modulo
    // 2^64, as in HAProxy.
    let mut shift = 4u32;
    loop {
        let b = *input.get(used).ok_or(Error::Truncated)?;
        used += 1;
        if shift >= 64 {
            return Err(Error::TooLong);
        }
        v = v.wrapping_add(u64::from(b).wrapping_shl(shift));
        if b < 128 {
            return Ok((v, used));
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_round_trips() {
        for (v, len) in [
            (0u64, 1usize),
            (239, 1),
            (240, 2),
            (2287, 2),
            (2288, 3),
            (u64::from(u32::MAX), 5),
            (u64::MAX, 10),
        ] {
            let mut out = Vec::new();
            put(&mut out, v);
            assert_eq!(out.len(), len, "{v}");
            assert_eq!(get(&out), Ok((v, len)));
        }
        assert_eq!(get(&[0xf0]), Err(Error::Truncated));
        assert_eq!(get(&[0xff; 12]), Err(Error::TooLong));
    }
}
