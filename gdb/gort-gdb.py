# gort-gdb.py - gdb support for programs linked with gort, in the spirit of
# Go's runtime-gdb.py.  Loaded automatically with libgort (its
# .debug_gdb_scripts section, and the copy installed in gdb's auto-load
# directory); `source` it by hand otherwise.
#
#   info goroutines          every live goroutine: id, status or wait
#                            reason (", locked to thread" as in gort's
#                            dumps), current function and file:line
#   goroutine N bt           backtrace of goroutine N (parked: unwound from
#                            its saved context; running: from its thread)
#   goroutine all bt         the same for every goroutine
#   print *chan / *mutex / wg   pretty-printers for gort_chan, gort_mutex,
#                            gort_rwmutex and gort_waitgroup
#
# Works on a live process and on a core file (GORTRACEBACK=crash writes
# one).  Needs the library's debug information (it reads struct g).
#
# Frames are unwound by gdb's own unwinders (DWARF CFI first), so code
# built without frame pointers and inlined functions unwind as in `bt`.
# A parked goroutine's saved context (gort__ctx_switch, src/arch/
# switch_amd64.S: [sp] MXCSR/x87 cw, r15, r14, r13, r12, rbx, rbp, return
# address) is handed to them by GoroutineUnwinder as the caller of the
# selected thread's innermost frame (past the inline frames at its pc).
# A call in tail position (-O2) leaves its caller no frame, for gdb as for
# any unwinder: -fno-optimize-sibling-calls keeps them.  Only x86-64 is
# supported here.

import os

import gdb
from gdb.unwinder import Unwinder, register_unwinder

G_IDLE, G_RUNNABLE, G_RUNNING, G_SYSCALL, G_WAITING, G_DEAD = range(6)
STATUS = {G_IDLE: "idle", G_RUNNABLE: "runnable", G_RUNNING: "running",
          G_SYSCALL: "syscall", G_WAITING: "waiting", G_DEAD: "dead"}
MAXFRAMES = 100


def _static(name):
    sym = gdb.lookup_static_symbol(name)
    if sym is None:
        sym = gdb.lookup_global_symbol(name)
    if sym is None:
        raise gdb.GdbError("gort: no symbol %s (is the program linked with gort, "
                           "with its debug information?)" % name)
    return sym.value()


def _runtime_dir():
    """The directory of the runtime's sources: frames in it are hidden."""
    sym = gdb.lookup_global_symbol("gort_main")
    if sym is None or sym.symtab is None:
        return None
    return os.path.dirname(sym.symtab.fullname())


def _allgs():
    """(gs, missing): the g value of every goroutine that is not dead, and
    how many records of allgs, or stacks of switched-out goroutines, the
    memory does not hold.  Every g there has its stack bounds or, on the
    heap, its heapg mark (malg): one that reads as neither, or not at all,
    is not in the core file; nor is a saved context whose return address
    reads as 0 or not at all.  gdb's gcore writes such cores: the records
    of default-size stacks sit at the top of the stack slabs, and the
    stacks are mappings with guard pages, which fail its reads."""
    allgs = _static("allgs")
    n = int(_static("allglen"))
    gs, missing = [], 0
    for i in range(n):
        gp = allgs[i]
        if int(gp) == 0:
            continue
        try:
            st = int(gp["status"])
            if int(gp["stack"]["hi"]) == 0 and not bool(gp["heapg"]):
                missing += 1
                continue
        except gdb.MemoryError:
            missing += 1
            continue
        if st in (G_IDLE, G_DEAD):
            continue
        gs.append(gp)
        if st in (G_WAITING, G_RUNNABLE) and _saved_ret(gp) == 0:
            missing += 1
    return gs, missing


def _saved_ret(gp):
    """The return address in gp's saved context (switch_amd64.S: the
    eighth word at ctx.sp), 0 if it cannot be read; None if gp has none
    (not started)."""
    sp = int(gp["ctx"]["sp"])
    if sp == 0:
        return None
    try:
        return _u64s(sp + 56, 1)[0]
    except gdb.MemoryError:
        return 0


def goroutines():
    """(g value) of every goroutine that is not dead."""
    return iter(_allgs()[0])


def _check_missing(missing):
    """Fails the command when goroutine records were not in the memory."""
    if missing:
        raise gdb.GdbError(
            "gort: %d goroutine records or stacks are not in this core file (gdb's gcore "
            "cannot read the goroutine stacks, where the records sit too: their guard pages "
            "fail its reads); use a core the kernel writes: ulimit -c unlimited, "
            "GORTRACEBACK=crash" % missing)


def status(gp):
    st = int(gp["status"])
    if st == G_WAITING:
        try:
            wr = int(gp["waitreason"])
            s = _static("gort__waitreason_str")[wr].string()
            if s:
                return s
        except gdb.error:
            pass
    return STATUS.get(st, "?")


def header(gp):
    """status(gp) as gort's dumps head a goroutine (traceback.c
    traceback_g): ", locked to thread" after it while gort_lock_os_thread
    holds it there (not the preemption trampoline's own lock, lockedint)."""
    s = status(gp)
    if int(gp["lockedm"]) != 0 and int(gp["lockedext"]) > 0:
        s += ", locked to thread"
    return s


def _u64s(addr, n):
    data = bytes(gdb.selected_inferior().read_memory(addr, 8 * n))
    return [int.from_bytes(data[8 * i:8 * i + 8], "little") for i in range(n)]


# The registers a parked goroutine resumes with, while its frames are being
# unwound (_parked_frames), else None; and the level of the selected
# thread's frame whose caller they make.  Read by GoroutineUnwinder.
_parked_regs = None
_parked_level = 0


class _FrameId:
    """A frame id for create_unwind_info (gdb.unwinder.FrameId is gdb 14's):
    gdb.Values, as gdb 13 requires."""

    def __init__(self, sp, pc):
        self.sp = gdb.Value(sp)
        self.pc = gdb.Value(pc)


class GoroutineUnwinder(Unwinder):
    """Makes a parked goroutine's saved context the caller of the selected
    thread's innermost frame (past the inline frames at its pc), so that
    gdb's own unwinders (DWARF CFI, then its prologue analysers) continue
    from the function that called gort__ctx_switch: frames without frame
    pointers (user code built without them, libc) and inlined functions
    unwind as in any backtrace.  Go's
    runtime-gdb.py gets the same by writing $pc/$sp; an unwinder also works
    on a core file, whose registers cannot be written."""

    def __init__(self):
        super().__init__("gort-goroutine")

    def __call__(self, pending_frame):
        if _parked_regs is None or pending_frame.level() != _parked_level:
            return None
        # This frame stands for gort__ctx_switch on the goroutine's stack:
        # its id's stack address is that frame's CFA (the sp it returns
        # with), inner to the frames it resumes (gdb stops at an id that is
        # not).
        fid = _FrameId(_parked_regs["rsp"], int(pending_frame.read_register("rip")))
        info = pending_frame.create_unwind_info(fid)
        for name, val in _parked_regs.items():
            reg = pending_frame.read_register(name)
            info.add_saved_register(name, gdb.Value(val).cast(reg.type))
        return info


def _describe_frames(frame, lo, hi):
    """(pc, function, file, line) of frame and its callers, innermost first,
    while their sp is on the stack [lo, hi)."""
    out = []
    while frame is not None and len(out) < MAXFRAMES:
        sp = int(frame.read_register("rsp"))
        if not (lo <= sp <= hi):
            break
        sal = frame.find_sal()
        name = frame.name() or "?"
        fname = sal.symtab.fullname() if sal.symtab else None
        out.append((int(frame.pc()), name, fname, sal.line))
        try:
            frame = frame.older()
        except gdb.error:
            break
    return out


def _parked_frames(gp, lo, hi, sp):
    """Frames of a goroutine parked with saved sp (src/arch/switch_amd64.S:
    [sp] MXCSR/x87 cw, r15, r14, r13, r12, rbx, rbp, return address)."""
    global _parked_regs, _parked_level
    w = _u64s(sp, 8)
    regs = {"r15": w[1], "r14": w[2], "r13": w[3], "r12": w[4], "rbx": w[5], "rbp": w[6],
            "rip": w[7], "rsp": sp + 64}
    if gdb.selected_thread() is None:
        raise gdb.GdbError("gort: no thread selected")
    level = gdb.selected_frame().level()
    # The innermost frame that is not an inline frame: gdb's inline
    # unwinder claims those (a thread stopped in code inlined into its
    # function; libc's read, with libc's debug information) before any
    # Python unwinder is asked, and their caller is that frame.
    frame = gdb.newest_frame()
    while frame.type() == gdb.INLINE_FRAME and frame.older() is not None:
        frame = frame.older()
    _parked_level = frame.level()
    _parked_regs = regs
    gdb.invalidate_cached_frames()
    try:
        return _describe_frames(_frame_at(_parked_level).older(), lo, hi)
    finally:
        _parked_regs = None
        gdb.invalidate_cached_frames()
        _select_level(level)


def _frame_at(level):
    """The selected thread's frame at level, or None."""
    frame = gdb.newest_frame()
    while frame is not None and level > 0:
        frame = frame.older()
        level -= 1
    return frame


def _select_level(level):
    """Selects the frame at level again (the frame cache was flushed)."""
    frame = _frame_at(level)
    if frame is not None:
        frame.select()


def _running_frames(gp, lo, hi):
    """Frames of a running goroutine: from the thread whose sp is on its
    stack, by gdb's own unwinder."""
    cur = gdb.selected_thread()
    level = gdb.selected_frame().level() if cur is not None else 0
    try:
        for t in gdb.selected_inferior().threads():
            t.switch()
            frame = gdb.newest_frame()
            while frame is not None:
                sp = int(frame.read_register("rsp"))
                if lo <= sp < hi:
                    return _describe_frames(frame, lo, hi)
                try:
                    frame = frame.older()
                except gdb.error:
                    break
    finally:
        if cur is not None:
            cur.switch()
            _select_level(level)
    return []


def _entry_frame(gp):
    """A goroutine not started yet: its function at its first line (as
    gort's dumps and Go show it)."""
    fn = int(gp["fn"])
    try:
        sym = gdb.block_for_pc(fn).function
    except (RuntimeError, AttributeError):
        sym = None
    if sym is None:
        return []
    return [(fn, sym.print_name, sym.symtab.fullname() if sym.symtab else None, sym.line)]


def all_frames(gp):
    """(pc, function, file, line) of every frame of gp, innermost first."""
    lo, hi = int(gp["stack"]["lo"]), int(gp["stack"]["hi"])
    sp = int(gp["ctx"]["sp"])
    st = int(gp["status"])
    if st == G_RUNNABLE and sp == 0:
        return _entry_frame(gp)
    if st in (G_RUNNING, G_SYSCALL) or sp == 0:
        return _running_frames(gp, lo, hi)  # empty: no thread found
    if not (lo <= sp < hi) or not _saved_ret(gp):
        return []  # no saved context in the memory (_allgs counts it)
    return _parked_frames(gp, lo, hi, sp)


def visible(name, fname, rtdir):
    """Go's showframe: runtime-internal frames are hidden unless `set
    gort-system on` (the inferior's GORTRACEBACK is not read: a
    GORTRACEBACK=crash core shows them hidden too)."""
    if _show_system.value:
        return True
    if name.startswith("gort__"):
        return False
    if name.startswith("gort_"):
        return True
    if rtdir and fname and fname.startswith(rtdir + os.sep):
        return False
    return True


def frames(gp):
    """gp's frames as gort's dumps show them: runtime-internal ones hidden."""
    rtdir = _runtime_dir()
    return [f for f in all_frames(gp) if visible(f[1], f[2], rtdir)]


class ShowSystem(gdb.Parameter):
    """Show the runtime's own frames in goroutine backtraces."""
    set_doc = "Set whether goroutine backtraces show gort's runtime frames."
    show_doc = "Show whether goroutine backtraces show gort's runtime frames."

    def __init__(self):
        super().__init__("gort-system", gdb.COMMAND_DATA, gdb.PARAM_BOOLEAN)
        self.value = False


_show_system = ShowSystem()


class InfoGoroutines(gdb.Command):
    """List gort goroutines: id, status or wait reason, current function, file:line."""

    def __init__(self):
        super().__init__("info goroutines", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        gs, missing = _allgs()
        for gp in gs:
            fr = frames(gp)
            mark = "*" if int(gp["status"]) == G_RUNNING else " "
            if fr:
                _, name, fname, line = fr[0]
                where = "%s %s:%d" % (name, fname or "?", line)
            else:
                where = "(no frames)"
            print("%s %d [%s] %s" % (mark, int(gp["goid"]), header(gp), where))
        _check_missing(missing)


class GoroutineCmd(gdb.Command):
    """goroutine N bt | goroutine all bt: backtrace of goroutine N, or of all."""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        args = arg.split()
        if len(args) != 2 or args[1] != "bt":
            raise gdb.GdbError("usage: goroutine N bt | goroutine all bt")
        gs, missing = _allgs()
        if args[0] != "all":
            try:
                want = int(args[0])
            except ValueError:
                raise gdb.GdbError("usage: goroutine N bt | goroutine all bt")
            gs = [gp for gp in gs if int(gp["goid"]) == want]
            if not gs:
                _check_missing(missing)
                raise gdb.GdbError("no goroutine %d" % want)
        for gp in gs:
            print("goroutine %d [%s]:" % (int(gp["goid"]), header(gp)))
            for i, (pc, name, fname, line) in enumerate(frames(gp)):
                print("#%-2d 0x%016x in %s () at %s:%d" % (i, pc, name, fname or "?", line))
            print("")
        if args[0] == "all":
            _check_missing(missing)


# ---------------------------------------------------------------- printers

def _waiters(q):
    n = 0
    sg = q["first"]
    while int(sg) != 0 and n < 1000000:
        n += 1
        sg = sg["next"]
    return n


class ChanPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        v = self.val
        return ("gort_chan len=%d cap=%d closed=%s elemsize=%d recv_waiting=%d send_waiting=%d"
                % (int(v["qcount"]), int(v["dataqsiz"]), "true" if int(v["closed"]) else "false",
                   int(v["elemsize"]), _waiters(v["recvq"]), _waiters(v["sendq"])))


class MutexPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        s = int(self.val["_state"]) & 0xffffffff
        flags = []
        if s & 1:
            flags.append("locked")
        if s & 2:
            flags.append("woken")
        if s & 4:
            flags.append("starving")
        return "gort_mutex %s waiters=%d" % ("|".join(flags) or "unlocked", s >> 3)


class RWMutexPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        r = int(self.val["_reader_count"])
        if r >= 1 << 31:
            r -= 1 << 32
        writer = r < 0
        readers = r + (1 << 30) if writer else r
        return "gort_rwmutex readers=%d writer=%s" % (
            readers, "pending-or-held" if writer else "none")


class WaitGroupPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        # High 32 bits: the counter; bit 31: the synctest bubble flag; low
        # 31 bits: the waiters (sync.c, WG_WAITERS).
        s = int(self.val["_state"])
        counter = s >> 32
        if counter >= 1 << 31:
            counter -= 1 << 32
        return "gort_waitgroup counter=%d waiters=%d" % (counter, s & 0x7fffffff)


def _lookup(val):
    t = val.type.strip_typedefs()
    if t.code != gdb.TYPE_CODE_STRUCT:
        return None
    name = t.tag or ""
    if name == "gort_chan":
        return ChanPrinter(val)
    if name == "gort_mutex":
        return MutexPrinter(val)
    if name == "gort_rwmutex":
        return RWMutexPrinter(val)
    if name == "gort_waitgroup":
        return WaitGroupPrinter(val)
    return None


InfoGoroutines()
GoroutineCmd()
register_unwinder(None, GoroutineUnwinder(), replace=True)
# Loaded once per objfile that embeds it and from the auto-load directory:
# one printer is enough.
gdb.pretty_printers[:] = [p for p in gdb.pretty_printers
                          if getattr(p, "__name__", "") != "_lookup"]
gdb.pretty_printers.append(_lookup)
