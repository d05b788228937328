//! A gzip-compressed tar archive (POSIX ustar), written as a stream: directories and
//! regular files only, each with the mode given, owned by 0:0. Enough for an evidence
//! bundle that `tar -xzf` reads, without a dependency for it.

use std::io::{self, Read, Write};

/// A ustar archive being written into `W` through gzip.
pub struct TarGz<W: Write> {
    gz: flate2::write::GzEncoder<W>,
    mtime: u64,
}

impl<W: Write> TarGz<W> {
    /// Starts an archive whose entries carry `mtime` (Unix seconds).
    pub fn new(out: W, mtime: u64) -> Self {
        TarGz { gz: flate2::write::GzEncoder::new(out, flate2::Compression::default()), mtime }
    }

    /// A directory entry (`path` without its trailing `/`).
    pub fn directory(&mut self, path: &str, mode: u32) -> io::Result<()> {
        let header = header(&format!("{path}/"), mode, 0, self.mtime, b'5')?;
        self.gz.write_all(&header)
    }

    /// A regular file of `size` bytes read from `content` (which must hold exactly that).
    pub fn file(&mut self, path: &str, mode: u32, size: u64, content: &mut dyn Read) -> io::Result<()> {
        let header = header(path, mode, size, self.mtime, b'0')?;
        self.gz.write_all(&header)?;
        let copied = io::copy(&mut content.take(size), &mut self.gz)?;
        if copied != size {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("{path}: {copied} of {size} bytes")));
        }
        let padding = (512 - size % 512) % 512;
        self.gz.write_all(&vec![0u8; padding as usize])
    }

    /// Ends the archive (two zero blocks) and the gzip stream; the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.gz.write_all(&[0u8; 1024])?;
        self.gz.finish()
    }
}

fn octal(field: &mut [u8], value: u64) -> io::Result<()> {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    if text.len() > digits {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{value} does not fit a tar header field")));
    }
    field[..digits].copy_from_slice(text.as_bytes());
    field[digits] = 0;
    Ok(())
}

fn header(path: &str, mode: u32, size: u64, mtime: u64, kind: u8) -> io::Result<[u8; 512]> {
    let mut h = [0u8; 512];
    let bytes = path.as_bytes();
    // A name over 100 bytes is split at a `/` into the 155-byte prefix and the name.
    let (prefix, name) = if bytes.len() <= 100 {
        (&[][..], bytes)
    } else {
        let split = path
            .char_indices()
            .filter(|&(i, c)| c == '/' && i <= 155 && bytes.len() - i - 1 <= 100 && i > 0)
            .map(|(i, _)| i)
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{path}: too long for tar")))?;
        (&bytes[..split], &bytes[split + 1..])
    };
    h[..name.len()].copy_from_slice(name);
    octal(&mut h[100..108], u64::from(mode & 0o7777))?;
    octal(&mut h[108..116], 0)?;
    octal(&mut h[116..124], 0)?;
    octal(&mut h[124..136], size)?;
    octal(&mut h[136..148], mtime)?;
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix);
    // The checksum is computed with its own field as spaces.
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    octal(&mut h[148..155], sum)?;
    h[155] = b' ';
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_tar_reads_it_back_with_modes_and_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar.gz");
        let mut tar = TarGz::new(std::fs::File::create(&path).unwrap(), 1_758_794_400);
        tar.directory("bundle", 0o700).unwrap();
        let long = format!("bundle/{}/file.txt", "d".repeat(120));
        for (name, body) in [("bundle/one.txt", "hello\n".to_owned()), (long.as_str(), "x".repeat(513))] {
            tar.file(name, 0o600, body.len() as u64, &mut body.as_bytes()).unwrap();
        }
        tar.finish().unwrap();
        let out = std::process::Command::new("tar").arg("-tvzf").arg(&path).output().expect("tar");
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(listing.contains("drwx------") && listing.contains("-rw-------"), "{listing}");
        assert!(listing.contains(&long), "{listing}");
        let x = dir.path().join("x");
        std::fs::create_dir(&x).unwrap();
        let out = std::process::Command::new("tar").arg("-xzf").arg(&path).arg("-C").arg(&x).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read_to_string(x.join("bundle/one.txt")).unwrap(), "hello\n");
        assert_eq!(std::fs::read_to_string(x.join(&long)).unwrap().len(), 513);
    }

    #[test]
    fn content_shorter_than_announced_is_an_error() {
        let mut tar = TarGz::new(Vec::new(), 0);
        assert!(tar.file("f", 0o600, 10, &mut &b"short"[..]).is_err());
    }
}
