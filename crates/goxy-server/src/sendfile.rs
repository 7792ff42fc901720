//! A plain-TCP connection that writes memory-mapped response bodies with
//! `sendfile(2)`: the kernel sends the file's page-cache pages without the
//! copy into the socket that `write` of the mapped bytes would make. This is
//! what keeps large cache hits as cheap as a static file server's.
//!
//! hyper passes a response body's `Bytes` to `writev` as they are, so a body
//! slice that lies inside a registered mapping ([`goxy_store::mapped`]) is
//! recognised here and sent from its file instead. Everything else (headers,
//! small bodies from the heap) is written normally, in order.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

pub struct SendfileStream {
    tcp: TcpStream,
    /// TCP_CORK is on: headers wait to leave in full segments with the
    /// start of the file data, instead of as a small segment of their own
    /// (which costs the client a wake-up and throughput, as nginx's
    /// `tcp_nopush` knows).
    corked: bool,
}

impl SendfileStream {
    pub fn new(tcp: TcpStream) -> SendfileStream {
        SendfileStream { tcp, corked: false }
    }

    #[cfg(target_os = "linux")]
    fn set_cork(&mut self, on: bool) {
        use std::os::unix::io::AsRawFd;
        let value: libc::c_int = on.into();
        // SAFETY: a valid socket descriptor and a pointer to a c_int of the given size.
        let rc = unsafe {
            libc::setsockopt(
                self.tcp.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_CORK,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        // Corking is only an optimisation; without it the bytes still go out.
        self.corked = on && rc == 0;
    }

    #[cfg(target_os = "linux")]
    fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        fd: i32,
        offset: u64,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        use std::os::unix::io::AsRawFd;
        let socket = self.tcp.as_raw_fd();
        loop {
            ready!(self.tcp.poll_write_ready(cx))?;
            let sent = self.tcp.try_io(tokio::io::Interest::WRITABLE, || {
                let mut off = libc::off_t::try_from(offset)
                    .map_err(|_| io::Error::other("offset too large"))?;
                // SAFETY: both descriptors are open for the duration of the call
                // (the socket by `self`, the file by the mapping the caller's
                // slice belongs to), and `off` is a valid pointer.
                let n = unsafe { libc::sendfile(socket, fd, &mut off, len) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match sent {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        #[cfg(target_os = "linux")]
        if let Some((fd, offset)) = goxy_store::mapped::file_region(buf) {
            let sent = ready!(this.poll_sendfile(cx, fd, offset, buf.len()))?;
            if sent == buf.len() && this.corked {
                this.set_cork(false);
            }
            return Poll::Ready(Ok(sent));
        }
        Pin::new(&mut this.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        #[cfg(target_os = "linux")]
        {
            let Some(first) = bufs.iter().position(|b| !b.is_empty()) else {
                return Poll::Ready(Ok(0));
            };
            if let Some((fd, offset)) = goxy_store::mapped::file_region(&bufs[first]) {
                let len = bufs[first].len();
                let sent = ready!(this.poll_sendfile(cx, fd, offset, len))?;
                if sent == len && this.corked {
                    // The mapped slice is out: let everything queued leave now.
                    this.set_cork(false);
                }
                return Poll::Ready(Ok(sent));
            }
            // Write the slices before the next mapped one normally; the caller
            // comes back for the rest.
            let end = bufs[first..]
                .iter()
                .position(|b| goxy_store::mapped::file_region(b).is_some())
                .map_or(bufs.len(), |i| first + i);
            if end < bufs.len() && !this.corked {
                this.set_cork(true);
            }
            Pin::new(&mut this.tcp).poll_write_vectored(cx, &bufs[first..end])
        }
        #[cfg(not(target_os = "linux"))]
        Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // A flush means "send what you have": never hold bytes corked past it.
        #[cfg(target_os = "linux")]
        if this.corked {
            this.set_cork(false);
        }
        Pin::new(&mut this.tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A mapped body much larger than the socket buffers, written in pieces
    /// with heap slices around it, arrives byte for byte.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mapped_and_heap_slices_arrive_in_order() {
        let body: Vec<u8> = (0..8_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&body).unwrap();
        let mapped = goxy_store::mapped::map_file(file).unwrap();
        assert!(goxy_store::mapped::file_region(&mapped).is_some());

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            got
        });
        let (tcp, _) = listener.accept().await.unwrap();
        let mut stream = SendfileStream::new(tcp);
        let head = b"HEAD-".to_vec();
        let tail = b"-TAIL".to_vec();
        let mut pieces: Vec<&[u8]> = vec![&head, &mapped[..3_000_000], &mapped[3_000_000..], &tail];
        while !pieces.is_empty() {
            let slices: Vec<IoSlice<'_>> = pieces.iter().map(|p| IoSlice::new(p)).collect();
            let mut n =
                std::future::poll_fn(|cx| Pin::new(&mut stream).poll_write_vectored(cx, &slices))
                    .await
                    .unwrap();
            assert!(n > 0);
            while n > 0 {
                if n >= pieces[0].len() {
                    n -= pieces[0].len();
                    pieces.remove(0);
                } else {
                    pieces[0] = &pieces[0][n..];
                    n = 0;
                }
            }
        }
        stream.shutdown().await.unwrap();
        drop(stream);
        let got = reader.await.unwrap();
        let mut want = head.clone();
        want.extend_from_slice(&body);
        want.extend_from_slice(&tail);
        assert_eq!(got.len(), want.len());
        assert!(got == want, "bytes differ");
    }
}
