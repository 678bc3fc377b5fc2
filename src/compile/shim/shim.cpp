// SPDX-License-Identifier: GPL-2.0-only
//
// The in-process BPF compiler: clang's cc1 front end and LLVM's BPF back end
// driven through CompilerInstance, with the object written to memory and
// headers served from an in-memory file system overlaid on the real one (so
// an extension's own relative #include "x.h" still resolves).
//
// What a compile may read of the real file system is limited (ipft runs as
// root, and diagnostics quote the lines of what they read): regular files
// below the extension's directory and the -I directories of $CFLAGS. Each
// path is checked after resolving symlinks, so a link cannot lead outside.
// FIFOs and devices are refused too: reading one would never end.
//
// LLVM's BPF CO-RE pass keeps a static map across compiles, which makes a
// second CO-RE compile in one process unsafe; the Rust side therefore runs
// every compile in a forked child (src/compile/mod.rs).

#include "shim.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include <clang/Basic/DiagnosticOptions.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/Passes/PassPlugin.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/VirtualFileSystem.h>
#include <llvm/Support/raw_ostream.h>

extern "C" {
void LLVMInitializeBPFTargetInfo();
void LLVMInitializeBPFTarget();
void LLVMInitializeBPFTargetMC();
void LLVMInitializeBPFAsmPrinter();
}

static char *copy_string(const std::string &s)
{
	char *p = static_cast<char *>(std::malloc(s.size() + 1));
	if (p)
		std::memcpy(p, s.c_str(), s.size() + 1);
	return p;
}

namespace {

enum class Refusal { NotRegular = 1, Outside = 2 };

class RefusalCategory : public std::error_category {
public:
	const char *name() const noexcept override { return "ipft"; }
	std::string message(int ev) const override
	{
		if (ev == static_cast<int>(Refusal::NotRegular))
			return "not a regular file (a FIFO, device or socket): ipft compiles only regular files";
		return "outside what ipft's compiler reads (the extension's directory, the -I "
		       "directories of $CFLAGS and ipft's embedded headers)";
	}
};

std::error_code refusal(Refusal r)
{
	static RefusalCategory category;
	return {static_cast<int>(r), category};
}

// The real file system as an extension's compile may see it. The embedded
// headers never get here: the in-memory layer above answers for them.
class BoundedFileSystem : public llvm::vfs::ProxyFileSystem {
public:
	BoundedFileSystem(llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> fs,
			  std::vector<std::string> roots)
		: ProxyFileSystem(std::move(fs)), roots_(std::move(roots))
	{
	}

	llvm::ErrorOr<llvm::vfs::Status> status(const llvm::Twine &path) override
	{
		auto st = ProxyFileSystem::status(path);
		if (!st)
			return st;
		if (auto ec = check(path, *st))
			return ec;
		return st;
	}

	llvm::ErrorOr<std::unique_ptr<llvm::vfs::File>>
	openFileForRead(const llvm::Twine &path) override
	{
		auto st = ProxyFileSystem::status(path);
		if (!st)
			return st.getError();
		if (auto ec = check(path, *st))
			return ec;
		return ProxyFileSystem::openFileForRead(path);
	}

private:
	std::error_code check(const llvm::Twine &path, const llvm::vfs::Status &st)
	{
		llvm::SmallString<256> abs;
		path.toVector(abs);
		if (auto ec = makeAbsolute(abs))
			return ec;
		// Directories may be looked at anywhere: the include search does.
		if (st.isDirectory())
			return {};
		if (!st.isRegularFile())
			return refusal(Refusal::NotRegular);
		llvm::SmallString<256> real;
		if (llvm::sys::fs::real_path(abs, real, false))
			return refusal(Refusal::Outside);
		for (const auto &root : roots_) {
			llvm::StringRef r(real);
			if (r.starts_with(root) && r.size() > root.size() &&
			    (root.back() == '/' || r[root.size()] == '/'))
				return {};
		}
		return refusal(Refusal::Outside);
	}

	std::vector<std::string> roots_;
};

} // namespace

extern "C" int ipft_bpfcc_compile(const char *const *args, size_t nargs,
				  const struct ipft_vfile *files, size_t nfiles,
				  const char *const *roots, size_t nroots,
				  unsigned char **obj, size_t *obj_len, char **diag)
{
	static std::once_flag init;
	std::call_once(init, [] {
		LLVMInitializeBPFTargetInfo();
		LLVMInitializeBPFTarget();
		LLVMInitializeBPFTargetMC();
		LLVMInitializeBPFAsmPrinter();
	});
	*obj = nullptr;
	*obj_len = 0;
	*diag = nullptr;

	std::string diag_text;
	llvm::raw_string_ostream diag_os(diag_text);

	auto invocation = std::make_shared<clang::CompilerInvocation>();
	{
		llvm::IntrusiveRefCntPtr<clang::DiagnosticOptions> opts(new clang::DiagnosticOptions());
		clang::TextDiagnosticPrinter printer(diag_os, opts.get());
		clang::DiagnosticsEngine engine(new clang::DiagnosticIDs(), opts, &printer, false);
		if (!clang::CompilerInvocation::CreateFromArgs(
			    *invocation, llvm::ArrayRef<const char *>(args, nargs), engine)) {
			diag_os.flush();
			*diag = copy_string(diag_text);
			return 1;
		}
	}

	// Copies: the lexer needs NUL-terminated buffers it can own.
	auto memory = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
	for (size_t i = 0; i < nfiles; i++) {
		llvm::StringRef data(reinterpret_cast<const char *>(files[i].data), files[i].len);
		memory->addFile(files[i].path, 0, llvm::MemoryBuffer::getMemBufferCopy(data, files[i].path));
	}
	std::vector<std::string> allowed;
	for (size_t i = 0; i < nroots; i++) {
		llvm::SmallString<256> real;
		if (!llvm::sys::fs::real_path(roots[i], real, false))
			allowed.emplace_back(real.str());
	}
	auto bounded = llvm::makeIntrusiveRefCnt<BoundedFileSystem>(
		llvm::vfs::getRealFileSystem(), std::move(allowed));
	auto overlay = llvm::makeIntrusiveRefCnt<llvm::vfs::OverlayFileSystem>(bounded);
	overlay->pushOverlay(memory);

	clang::CompilerInstance ci;
	ci.setInvocation(invocation);
	ci.createDiagnostics(new clang::TextDiagnosticPrinter(diag_os, &ci.getDiagnosticOpts()), true);
	ci.createFileManager(overlay);

	llvm::SmallVector<char, 0> out;
	ci.setOutputStream(std::make_unique<llvm::raw_svector_ostream>(out));
	clang::EmitObjAction action;
	bool ok = ci.ExecuteAction(action) && !ci.getDiagnostics().hasErrorOccurred();

	diag_os.flush();
	if (!diag_text.empty())
		*diag = copy_string(diag_text);
	if (ok && !out.empty()) {
		*obj = static_cast<unsigned char *>(std::malloc(out.size()));
		if (!*obj)
			return 1;
		std::memcpy(*obj, out.data(), out.size());
		*obj_len = out.size();
	}
	return ok ? 0 : 1;
}

extern "C" void ipft_bpfcc_free(void *ptr)
{
	std::free(ptr);
}

// Debian builds clang's code generator with Polly linked in, so it refers to
// this symbol; ipft does not use Polly, and this stub avoids linking it.
llvm::PassPluginLibraryInfo getPollyPluginInfo()
{
	return {LLVM_PLUGIN_API_VERSION, "ipft-no-polly", "0", [](llvm::PassBuilder &) {}};
}
