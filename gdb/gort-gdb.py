# gort-gdb.py - gdb support for programs linked with gort, in the spirit of
# Go's runtime-gdb.py.  Loaded automatically with libgort (its
# .debug_gdb_scripts section, and the copy installed in gdb's auto-load
# directory); `source` it by hand otherwise.
#
#   info goroutines          every live goroutine: id, status or wait
#                            reason, current function and file:line
#   goroutine N bt           backtrace of goroutine N (parked: unwound from
#                            its saved context; running: from its thread)
#   goroutine all bt         the same for every goroutine
#   print *chan / *mutex / wg   pretty-printers for gort_chan, gort_mutex,
#                            gort_rwmutex and gort_waitgroup
#
# Works on a live process and on a core file (GORTRACEBACK=crash writes
# one).  Needs the library's debug information (it reads struct g).
#
# Frames are found by walking the frame-pointer chain (gort builds with
# -fno-omit-frame-pointer and gives users that flag through pkg-config).
# A parked goroutine's saved context (gort__ctx_switch, src/arch/
# switch_amd64.S) is: [sp] MXCSR/x87 cw, r15, r14, r13, r12, rbx, rbp,
# return address.  Only x86-64 is supported here.

import os

import gdb

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


def _u64(addr):
    inf = gdb.selected_inferior()
    return int.from_bytes(bytes(inf.read_memory(addr, 8)), "little")


def goroutines():
    """(g value) of every goroutine that is not dead."""
    allgs = _static("allgs")
    n = int(_static("allglen"))
    for i in range(n):
        gp = allgs[i]
        if int(gp) == 0:
            continue
        st = int(gp["status"])
        if st in (G_IDLE, G_DEAD):
            continue
        yield gp


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


def _thread_regs(gp):
    """(pc, fp) of the thread running gp: the one whose sp is on gp's stack."""
    lo, hi = int(gp["stack"]["lo"]), int(gp["stack"]["hi"])
    cur = gdb.selected_thread()
    found = None
    try:
        for t in gdb.selected_inferior().threads():
            t.switch()
            frame = gdb.newest_frame()
            while frame is not None:
                sp = int(frame.read_register("rsp"))
                if lo <= sp < hi:
                    found = (int(frame.pc()), int(frame.read_register("rbp")), frame)
                    break
                frame = frame.older()
            if found:
                break
    finally:
        if cur is not None:
            cur.switch()
    return found


def pcs(gp):
    """Return addresses of gp's frames, innermost first."""
    lo, hi = int(gp["stack"]["lo"]), int(gp["stack"]["hi"])
    sp = int(gp["ctx"]["sp"])
    st = int(gp["status"])
    out = []
    if st in (G_RUNNING, G_SYSCALL) or sp == 0:
        regs = _thread_regs(gp)
        if regs is None:
            return out  # not started, or its thread is not found
        # gdb's own unwinder (DWARF CFI: libc has no frame pointers) while
        # the frames stay on gp's stack.
        frame = regs[2]
        while frame is not None and len(out) < MAXFRAMES:
            fsp = int(frame.read_register("rsp"))
            if not (lo <= fsp < hi):
                break
            out.append(int(frame.pc()))
            frame = frame.older()
        return out
    else:
        if not (lo <= sp < hi):
            return out
        fp = _u64(sp + 48)
        out.append(_u64(sp + 56))
    while lo <= fp <= hi - 16 and fp % 8 == 0 and len(out) < MAXFRAMES:
        ret = _u64(fp + 8)
        if ret == 0:
            break
        out.append(ret)
        nxt = _u64(fp)
        if nxt <= fp:
            break
        fp = nxt
    return out


def describe(pc, first):
    """[(function, file, line)] at return address pc: the functions inlined
    at the call, innermost first, then the function the code belongs to.
    The innermost gets the call's line; an outer function (whose call-site
    line gdb's Python API does not give) its own first line."""
    look = pc if first else pc - 1
    sal = gdb.find_pc_line(look)
    out = []
    try:
        block = gdb.block_for_pc(look)
    except RuntimeError:
        block = None
    while block is not None:
        fn = block.function
        if fn is not None:
            if not out:
                out.append((fn.print_name, sal.symtab.fullname() if sal.symtab else None,
                            sal.line))
            else:
                out.append((fn.print_name, fn.symtab.fullname() if fn.symtab else None, fn.line))
        block = block.superblock
    if not out:
        name = gdb.execute("info symbol %#x" % look, to_string=True).split(" ")[0]
        out.append(("?" if name.startswith("No") else name,
                    sal.symtab.fullname() if sal.symtab else None, sal.line))
    return out


def visible(name, fname, rtdir):
    """Go's showframe: runtime-internal frames are hidden (GORTRACEBACK=system
    in the inferior's environment, or `set gort-system on`, shows them)."""
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
    rtdir = _runtime_dir()
    out = []
    for i, pc in enumerate(pcs(gp)):
        for name, fname, line in describe(pc, i == 0):
            if visible(name, fname, rtdir):
                out.append((pc, name, fname, line))
    return out


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
        for gp in goroutines():
            fr = frames(gp)
            mark = "*" if int(gp["status"]) == G_RUNNING else " "
            if fr:
                _, name, fname, line = fr[0]
                where = "%s %s:%d" % (name, fname or "?", line)
            else:
                where = "(no frames)"
            print("%s %d [%s] %s" % (mark, int(gp["goid"]), status(gp), where))


class GoroutineCmd(gdb.Command):
    """goroutine N bt | goroutine all bt: backtrace of goroutine N, or of all."""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        args = arg.split()
        if len(args) != 2 or args[1] != "bt":
            raise gdb.GdbError("usage: goroutine N bt | goroutine all bt")
        gs = list(goroutines())
        if args[0] != "all":
            try:
                want = int(args[0])
            except ValueError:
                raise gdb.GdbError("usage: goroutine N bt | goroutine all bt")
            gs = [gp for gp in gs if int(gp["goid"]) == want]
            if not gs:
                raise gdb.GdbError("no goroutine %d" % want)
        for gp in gs:
            print("goroutine %d [%s]:" % (int(gp["goid"]), status(gp)))
            for i, (pc, name, fname, line) in enumerate(frames(gp)):
                print("#%-2d 0x%016x in %s () at %s:%d" % (i, pc, name, fname or "?", line))
            print("")


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
        s = int(self.val["_state"])
        counter = s >> 32
        if counter >= 1 << 31:
            counter -= 1 << 32
        return "gort_waitgroup counter=%d waiters=%d" % (counter, s & 0xffffffff)


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
# Loaded once per objfile that embeds it and from the auto-load directory:
# one printer is enough.
gdb.pretty_printers[:] = [p for p in gdb.pretty_printers
                          if getattr(p, "__name__", "") != "_lookup"]
gdb.pretty_printers.append(_lookup)
