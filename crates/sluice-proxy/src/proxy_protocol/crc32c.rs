//! CRC-32C (Castagnoli), the checksum of `PP2_TYPE_CRC32C`: reflected polynomial
//! 0x82F63B78, initial value and final XOR all ones (RFC 3720's).

/// One byte's contribution, for every byte value.
const TABLE: [u32; 256] = table();

const fn table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

/// A checksum being computed over pieces.
#[derive(Clone, Copy, Debug)]
pub struct Crc32c(u32);

impl Crc32c {
    pub fn new() -> Crc32c {
        Crc32c(!0)
    }

    /// Adds `bytes`.
    pub fn update(self, bytes: &[u8]) -> Crc32c {
        let mut c = self.0;
        for &b in bytes {
            let index = usize::from((c as u8) ^ b);
            c = (c >> 8) ^ TABLE.get(index).copied().unwrap_or(0);
        }
        Crc32c(c)
    }

    pub fn finish(self) -> u32 {
        !self.0
    }
}

impl Default for Crc32c {
    fn default() -> Self {
        Crc32c::new()
    }
}

/// The checksum of `bytes`.
pub fn checksum(bytes: &[u8]) -> u32 {
    Crc32c::new().update(bytes).finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        // RFC 3720, B.4: 32 bytes of zeroes, and the ASCII check string.
        assert_eq!(super::checksum(&[0; 32]), 0x8A91_36AA);
        assert_eq!(super::checksum(b"123456789"), 0xE306_9283);
    }
}
