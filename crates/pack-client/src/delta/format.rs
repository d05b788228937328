//! The delta file format (`docs/formats/delta.md`): a 48-byte header (magic, version,
//! reserved, body length, SHA-256 of the body), then the two versions and one section per
//! kind. Decoding checks size, magic, version, length and checksum before the body, then
//! bounds-checks every field.

use ferretwatch_detect::filter::{IndicatorKind, MAX_INDICATOR_BYTES};
use ferretwatch_types::{PackVersion, Sha256};

use super::{Delta, DeltaError, Patch, Section, DELTA_HEADER_LEN, DELTA_MAGIC, DELTA_VERSION, MAX_DELTA_BYTES};

const OP_EXACT: u8 = 1;
const OP_BLOOM: u8 = 2;

impl Delta {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for version in [&self.base_version, &self.target_version] {
            body.push(version.as_str().len() as u8);
            body.extend_from_slice(version.as_str().as_bytes());
        }
        body.push(self.sections.len() as u8);
        for section in &self.sections {
            body.push(section.kind as u8);
            body.push(match section.patch {
                Patch::Exact { .. } => OP_EXACT,
                Patch::Bloom { .. } => OP_BLOOM,
            });
            body.extend_from_slice(section.base_sha256.as_bytes());
            body.extend_from_slice(section.result_sha256.as_bytes());
            body.extend_from_slice(&section.result_count.to_le_bytes());
            match &section.patch {
                Patch::Exact { removed, added } => {
                    for list in [removed, added] {
                        put_varint(&mut body, list.len() as u64);
                        for item in list {
                            put_varint(&mut body, item.len() as u64);
                            body.extend_from_slice(item.as_bytes());
                        }
                    }
                }
                Patch::Bloom { flips } => {
                    put_varint(&mut body, flips.len() as u64);
                    let mut previous = None;
                    for &position in flips {
                        put_varint(&mut body, previous.map_or(position, |p: u64| position - p));
                        previous = Some(position);
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(DELTA_HEADER_LEN + body.len());
        out.extend_from_slice(&DELTA_MAGIC);
        out.extend_from_slice(&DELTA_VERSION.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(Sha256::of(&body).as_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes a delta: size, magic, version, length and checksum before the body, then
    /// every field bounds-checked. Never panics on any input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DeltaError> {
        if bytes.len() > MAX_DELTA_BYTES {
            return Err(DeltaError::TooLarge { len: bytes.len() });
        }
        if bytes.len() >= 4 && bytes[..4] != DELTA_MAGIC {
            return Err(DeltaError::BadMagic);
        }
        if bytes.len() < DELTA_HEADER_LEN {
            return Err(DeltaError::Truncated { len: bytes.len() });
        }
        let (header, body) = bytes.split_at(DELTA_HEADER_LEN);
        let version = u16::from_le_bytes([header[4], header[5]]);
        if version != DELTA_VERSION {
            return Err(DeltaError::UnsupportedVersion { actual: version });
        }
        let declared = u64::from_le_bytes(header[8..16].try_into().unwrap_or([0xff; 8]));
        if declared != body.len() as u64 {
            return Err(DeltaError::LengthMismatch { declared, actual: body.len() as u64 });
        }
        if header[16..48] != Sha256::of(body).as_bytes()[..] {
            return Err(DeltaError::ChecksumMismatch);
        }
        if header[6..8] != [0, 0] {
            return Err(DeltaError::Invalid("reserved header field is not zero".into()));
        }
        let mut r = Reader(body);
        let base_version = r.version()?;
        let target_version = r.version()?;
        if target_version <= base_version {
            return Err(DeltaError::NotNewer { base: base_version.to_string(), target: target_version.to_string() });
        }
        let count = r.byte()?;
        if count > 3 {
            return Err(DeltaError::Invalid(format!("{count} sections (at most 3)")));
        }
        let mut sections: Vec<Section> = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let code = r.byte()?;
            let kind = IndicatorKind::ALL
                .into_iter()
                .find(|k| *k as u8 == code)
                .ok_or_else(|| DeltaError::Invalid(format!("unknown indicator kind {code}")))?;
            if sections.last().is_some_and(|s| s.kind >= kind) {
                return Err(DeltaError::Invalid("sections are not in strictly ascending kind order".into()));
            }
            let op = r.byte()?;
            let base_sha256 = Sha256::from_bytes(r.array()?);
            let result_sha256 = Sha256::from_bytes(r.array()?);
            let result_count = u64::from_le_bytes(r.array()?);
            let patch = match op {
                OP_EXACT => Patch::Exact { removed: r.items()?, added: r.items()? },
                OP_BLOOM => Patch::Bloom { flips: r.flips()? },
                other => return Err(DeltaError::Invalid(format!("unknown patch operation {other}"))),
            };
            sections.push(Section { kind, base_sha256, result_sha256, result_count, patch });
        }
        if !r.0.is_empty() {
            return Err(DeltaError::Invalid(format!("{} bytes after the last section", r.0.len())));
        }
        Ok(Delta { base_version, target_version, sections })
    }
}

/// Bounds-checked reading of a delta body.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], DeltaError> {
        if self.0.len() < len {
            return Err(DeltaError::Invalid("body ends inside a field".into()));
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, DeltaError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DeltaError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn varint(&mut self) -> Result<u64, DeltaError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(DeltaError::Invalid("varint overflows 64 bits".into()));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DeltaError::Invalid("varint longer than 10 bytes".into()))
    }

    fn version(&mut self) -> Result<PackVersion, DeltaError> {
        let len = usize::from(self.byte()?);
        let text =
            std::str::from_utf8(self.take(len)?).map_err(|_| DeltaError::Invalid("version is not UTF-8".into()))?;
        PackVersion::parse(text).map_err(|e| DeltaError::Invalid(e.to_string()))
    }

    /// A count, bounded by the bytes left at `min_bytes` per element.
    fn count(&mut self, min_bytes: usize) -> Result<usize, DeltaError> {
        let count = self.varint()?;
        if count > (self.0.len() / min_bytes) as u64 {
            return Err(DeltaError::Invalid(format!("{count} entries cannot fit in {} bytes", self.0.len())));
        }
        Ok(count as usize)
    }

    fn items(&mut self) -> Result<Vec<String>, DeltaError> {
        let count = self.count(2)?;
        let mut items: Vec<String> = Vec::with_capacity(count);
        for _ in 0..count {
            let len = self.varint()?;
            if len == 0 || len > MAX_INDICATOR_BYTES as u64 {
                return Err(DeltaError::Invalid(format!("indicator of {len} bytes out of bounds")));
            }
            let item = std::str::from_utf8(self.take(len as usize)?)
                .map_err(|_| DeltaError::Invalid("indicator is not UTF-8".into()))?;
            if items.last().is_some_and(|p| p.as_str() >= item) {
                return Err(DeltaError::Invalid("indicators are not strictly sorted".into()));
            }
            items.push(item.to_owned());
        }
        Ok(items)
    }

    fn flips(&mut self) -> Result<Vec<u64>, DeltaError> {
        let count = self.count(1)?;
        let mut flips = Vec::with_capacity(count);
        for i in 0..count {
            let step = self.varint()?;
            let position = match flips.last() {
                None => step,
                Some(_) if step == 0 => return Err(DeltaError::Invalid(format!("bit flip {i} repeats the previous"))),
                Some(&previous) => u64::checked_add(previous, step)
                    .ok_or_else(|| DeltaError::Invalid("bit position overflows".into()))?,
            };
            flips.push(position);
        }
        Ok(flips)
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
