//! # Compiler FFI
//!
//! The C ABI of `shim/shim.cpp` and `shim/vmlinux.c`, and safe wrappers that
//! own every buffer the C side allocates. The only `unsafe` of `compile/`.

use std::ffi::{c_char, c_uchar, CStr, CString};

#[repr(C)]
struct VFile {
    path: *const c_char,
    data: *const c_uchar,
    len: usize,
}

unsafe extern "C" {
    fn ipft_bpfcc_compile(
        args: *const *const c_char,
        nargs: usize,
        files: *const VFile,
        nfiles: usize,
        roots: *const *const c_char,
        nroots: usize,
        obj: *mut *mut c_uchar,
        obj_len: *mut usize,
        diag: *mut *mut c_char,
    ) -> i32;
    fn ipft_bpfcc_free(ptr: *mut libc::c_void);
    fn ipft_vmlinux_h(len: *mut usize) -> *mut c_char;
}

/// What one run of the compiler produced.
pub struct Output {
    pub ok: bool,
    pub object: Vec<u8>,
    pub diagnostics: String,
}

/// Runs cc1 with `args` over `files` (virtual path, contents); of the real
/// file system it reads only regular files below `roots`.
pub fn compile(
    args: &[std::ffi::OsString],
    files: &[(String, Vec<u8>)],
    roots: &[std::path::PathBuf],
) -> Output {
    use std::os::unix::ffi::OsStrExt;
    // Paths are bytes on Linux: a source path need not be UTF-8. An argument
    // with a NUL (impossible for a path) becomes empty rather than a panic.
    let c_args: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_bytes()).unwrap_or_default())
        .collect();
    let arg_ptrs: Vec<*const c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    let c_roots: Vec<CString> = roots
        .iter()
        .filter_map(|r| CString::new(r.as_os_str().as_bytes()).ok())
        .collect();
    let root_ptrs: Vec<*const c_char> = c_roots.iter().map(|r| r.as_ptr()).collect();
    let c_paths: Vec<CString> = files
        .iter()
        .map(|(p, _)| CString::new(p.as_str()).unwrap())
        .collect();
    let vfiles: Vec<VFile> = files
        .iter()
        .zip(&c_paths)
        .map(|((_, data), path)| VFile {
            path: path.as_ptr(),
            data: data.as_ptr(),
            len: data.len(),
        })
        .collect();
    let mut obj: *mut c_uchar = std::ptr::null_mut();
    let mut obj_len = 0usize;
    let mut diag: *mut c_char = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call (the CStrings and vectors
    // above outlive it); the out-parameters are written by the shim.
    let rc = unsafe {
        ipft_bpfcc_compile(
            arg_ptrs.as_ptr(),
            arg_ptrs.len(),
            vfiles.as_ptr(),
            vfiles.len(),
            root_ptrs.as_ptr(),
            root_ptrs.len(),
            &mut obj,
            &mut obj_len,
            &mut diag,
        )
    };
    let object = if obj.is_null() {
        Vec::new()
    } else {
        // SAFETY: the shim malloc'ed obj_len bytes at obj; we copy then free once.
        let v = unsafe { std::slice::from_raw_parts(obj, obj_len) }.to_vec();
        // SAFETY: as above.
        unsafe { ipft_bpfcc_free(obj.cast()) };
        v
    };
    let diagnostics = if diag.is_null() {
        String::new()
    } else {
        // SAFETY: the shim returns a NUL-terminated malloc'ed string; freed once.
        let s = unsafe { CStr::from_ptr(diag) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: as above.
        unsafe { ipft_bpfcc_free(diag.cast()) };
        s
    };
    Output {
        ok: rc == 0 && !object.is_empty(),
        object,
        diagnostics,
    }
}

/// The running kernel's BTF as C (`vmlinux.h`), or `None` without kernel BTF.
pub fn vmlinux_h() -> Option<Vec<u8>> {
    let mut len = 0usize;
    // SAFETY: plain call; the result is NULL or a malloc'ed buffer of len bytes.
    let ptr = unsafe { ipft_vmlinux_h(&mut len) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: see above; copied, then freed once.
    let v = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }.to_vec();
    // SAFETY: as above.
    unsafe { libc::free(ptr.cast()) };
    Some(v)
}
