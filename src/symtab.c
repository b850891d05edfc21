/*
 * symtab.c - which function contains a code address.  Go has its own
 * pclntab; a C program has the ELF symbol tables of its loaded objects,
 * which name static functions too (dladdr only sees exported ones).
 *
 * On first need, the table of every object that dl_iterate_phdr reports
 * (the executable through /proc/self/exe, each shared library through its
 * path) is read from the file on disk with plain <elf.h> parsing: .symtab
 * if the object has one, else .dynsym.  Function symbols (STT_FUNC) go
 * into one array sorted by address; lookups are a binary search.
 *
 * Invariants:
 *   - A published table is immutable and never freed (a reader may hold
 *     it without a lock); a rebuild publishes a new one with a release
 *     store that pairs with the acquire load in gettable().
 *   - The files stay mapped (read-only, private) for the life of the
 *     process: the symbol names point into them.  A file is mapped once
 *     even across rebuilds (keyed by device and inode).
 *   - A lookup that misses rebuilds the table when objects were loaded or
 *     unloaded since it was built (dl_iterate_phdr's adds/subs counters),
 *     or when the build could not read some object's file for want of
 *     descriptors or memory (EMFILE, ENFILE, ENOMEM: a partial table).  A
 *     rebuild that reads no more files than the table it would replace is
 *     dropped, so a process stuck at its limit makes no new tables.
 *
 * C++ names (_Z...) are demangled when the table is built, by the
 * program's own libstdc++ (__cxa_demangle, a weak reference, or found
 * among the symbols: a C++ program has it, and a C program has no
 * mangled names), and
 * shortened to what Go prints of a function: "app::Worker::run" for
 * _ZN3app6Worker3runEPv (see shorten).  Each name is demangled once per
 * process (dmcache), rebuilds included.
 *
 * Used by gort_recover (panic.c), the tracebacks and the profilers.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "lockrank.h"

typedef struct sym {
    uintptr_t start;
    size_t size;
    const char *name;    /* as shown: a C++ name demangled (see shorten) */
    const char *sysname; /* as in the file (pprof's system_name) */
    uint8_t rank;        /* which of several symbols at one address to keep */
} sym;

typedef struct symtable {
    sym *syms;               /* [immutable] sorted by start, one per start */
    size_t n;                /* [immutable] */
    unsigned long long adds; /* [immutable] dl_iterate_phdr counters when built */
    unsigned long long subs; /* [immutable] */
    size_t nread;            /* [immutable] objects whose file was read */
    bool partial;            /* [immutable] some file could not be, for now (EMFILE...) */
    struct symtable *prev;   /* [buildlock] older tables, kept for readers */
} symtable;

typedef struct mappedfile {
    dev_t dev;
    ino_t ino;
    const unsigned char *map;
    size_t len;
    struct mappedfile *next;
} mappedfile;

static gort__rtlock buildlock = GORT__RTLOCK_INIT(LOCKRANK_SYMTAB);
static _Atomic(symtable *) current; /* [atomic; write under buildlock] */
static symtable *alltables;         /* [buildlock] */
static mappedfile *files;           /* [buildlock] */

typedef struct object {
    uintptr_t bias;
    char *path;
} object;

typedef struct collect {
    object *objs;
    size_t n, cap;
    unsigned long long adds, subs;
    bool oom;
} collect;

static int collect_cb(struct dl_phdr_info *info, size_t size, void *arg) {
    collect *c = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        c->adds = info->dlpi_adds;
        c->subs = info->dlpi_subs;
    }
    const char *name = info->dlpi_name;
    if (name == NULL || name[0] == '\0') {
        if (c->n != 0)
            return 0; /* the vdso, or another nameless object: no file */
        name = "/proc/self/exe";
    }
    if (name[0] != '/')
        return 0; /* linux-vdso.so.1 and the like */
    if (c->n == c->cap) {
        size_t ncap = c->cap ? 2 * c->cap : 16;
        object *no = gort__realloc(c->objs, ncap * sizeof *no);
        if (no == NULL) {
            c->oom = true;
            return 1;
        }
        c->objs = no;
        c->cap = ncap;
    }
    char *p = strdup(name);
    if (p == NULL) {
        c->oom = true;
        return 1;
    }
    c->objs[c->n].bias = (uintptr_t)info->dlpi_addr;
    c->objs[c->n].path = p;
    c->n++;
    return 0;
}

static int counters_cb(struct dl_phdr_info *info, size_t size, void *arg) {
    unsigned long long *ctr = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        ctr[0] = info->dlpi_adds;
        ctr[1] = info->dlpi_subs;
    }
    return 1; /* the counters are the same in every entry: one is enough */
}

/* Maps path once (by device and inode).  buildlock held.  NULL on error,
 * with *transient set when the error may go away (out of descriptors or
 * memory: another build may read the file). */
static const mappedfile *mapfile(const char *path, bool *transient) {
    *transient = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *transient = errno == EMFILE || errno == ENFILE || errno == ENOMEM;
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(ElfW(Ehdr))) {
        close(fd);
        return NULL;
    }
    for (mappedfile *f = files; f != NULL; f = f->next) {
        if (f->dev == st.st_dev && f->ino == st.st_ino && f->len == (size_t)st.st_size) {
            close(fd);
            return f;
        }
    }
    mappedfile *f = gort__malloc(sizeof *f);
    void *map = MAP_FAILED;
    if (f != NULL)
        map = gort__mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        *transient = true; /* ENOMEM, ours or the mmap's */
        gort__free(f);
        return NULL;
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->map = map;
    f->len = (size_t)st.st_size;
    f->next = files;
    files = f;
    return f;
}

typedef struct symvec {
    sym *v;
    size_t n, cap;
} symvec;

static int push(symvec *sv, uintptr_t start, size_t size, const char *name, uint8_t rank) {
    if (sv->n == sv->cap) {
        size_t ncap = sv->cap ? 2 * sv->cap : 1024;
        sym *nv = gort__realloc(sv->v, ncap * sizeof *nv);
        if (nv == NULL)
            return -ENOMEM;
        sv->v = nv;
        sv->cap = ncap;
    }
    sv->v[sv->n++] = (sym){start, size, name, name, rank};
    return 0;
}

/* Adds the function symbols of one mapped ELF file loaded at bias. */
static int addfile(symvec *sv, const mappedfile *f, uintptr_t bias) {
    const unsigned char *base = f->map;
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shentsize != sizeof(ElfW(Shdr)) || eh->e_shoff == 0 || eh->e_shoff > f->len ||
        (f->len - eh->e_shoff) / sizeof(ElfW(Shdr)) < eh->e_shnum)
        return 0;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(base + eh->e_shoff);
    const ElfW(Shdr) *tab = NULL;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type == SHT_SYMTAB) {
            tab = &sh[i];
            break;
        }
        if (sh[i].sh_type == SHT_DYNSYM && tab == NULL)
            tab = &sh[i];
    }
    if (tab == NULL || tab->sh_link >= eh->e_shnum || tab->sh_entsize != sizeof(ElfW(Sym)) ||
        tab->sh_offset > f->len || tab->sh_size > f->len - tab->sh_offset)
        return 0;
    const ElfW(Shdr) *strs = &sh[tab->sh_link];
    if (strs->sh_offset > f->len || strs->sh_size > f->len - strs->sh_offset || strs->sh_size == 0)
        return 0;
    const char *strtab = (const char *)base + strs->sh_offset;
    const ElfW(Sym) *syms = (const ElfW(Sym) *)(base + tab->sh_offset);
    size_t nsyms = tab->sh_size / sizeof(ElfW(Sym));
    for (size_t i = 0; i < nsyms; i++) {
        const ElfW(Sym) *s = &syms[i];
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF ||
            s->st_shndx >= SHN_LORESERVE || s->st_value == 0 || s->st_name >= strs->sh_size)
            continue;
        /* The name must end inside the string table. */
        const char *name = strtab + s->st_name;
        if (memchr(name, '\0', strs->sh_size - s->st_name) == NULL)
            continue;
        unsigned bind = ELF64_ST_BIND(s->st_info);
        uint8_t rank = bind == STB_GLOBAL ? 4 : bind == STB_WEAK ? 2 : 0;
        if (strchr(name, '.') == NULL)
            rank++; /* prefer "f" to "f.part.0" or an alias with a suffix */
        if (push(sv, bias + (uintptr_t)s->st_value, (size_t)s->st_size, name, rank) != 0)
            return -ENOMEM;
    }
    return 0;
}

/* The '(' that pairs with the ')' at d[close], or SIZE_MAX. */
static size_t open_paren(const char *d, size_t close) {
    int depth = 0;
    for (size_t i = close + 1; i-- > 0;) {
        if (d[i] == ')')
            depth++;
        else if (d[i] == '(' && --depth == 0)
            return i;
    }
    return SIZE_MAX;
}

static bool ident_char(char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Does d + k start the keyword operator ("operator<", "operator new"),
 * not an identifier that contains it ("Cooperator", "operator_x")? */
static bool is_operator(const char *d, size_t k) {
    return strncmp(d + k, "operator", 8) == 0 && !(k > 0 && ident_char(d[k - 1])) &&
           !ident_char(d[k + 8]);
}

/* Does s start with a qualifier of a function ("const", "volatile", "&",
 * "&&", "noexcept"), as a whole word? */
static bool is_qualifier(const char *s) {
    static const char *const quals[] = {"const", "volatile", "&&", "&", "noexcept"};
    for (size_t q = 0; q < sizeof quals / sizeof quals[0]; q++) {
        size_t n = strlen(quals[q]);
        if (strncmp(s, quals[q], n) == 0 && !ident_char(s[n]))
            return true;
    }
    return false;
}

/* A demangled C++ name shortened in place to scope and name, template
 * arguments included, as Go prints a function: without the parameters,
 * the qualifiers after them (const, &, noexcept), a function template's
 * return type (also one that is a function pointer, "R (*f(args))(...)"),
 * and the suffix of a piece the compiler split off ("[clone .cold]").
 * "int app::real_main<int>(void*)" becomes "app::real_main<int>".  A
 * name it cannot take apart (no parameter list at its end, brackets that
 * do not pair) stays whole. */
static void shorten(char *d) {
    char *clone = strstr(d, " [clone ");
    if (clone != NULL)
        *clone = '\0';
    size_t n = strlen(d);
    static const char *const quals[] = {" const", " volatile", " &&", " &", " noexcept"};
    for (size_t q = 0; q < sizeof quals / sizeof quals[0]; q++) {
        size_t ql = strlen(quals[q]);
        if (n > ql && memcmp(d + n - ql, quals[q], ql) == 0) {
            n -= ql;
            q = (size_t)-1; /* again from the first: "() const &" */
        }
    }
    if (n == 0 || d[n - 1] != ')')
        return;
    /* The name is d[lo, hi): first without the parameters at the end. */
    size_t lo = 0, hi = open_paren(d, n - 1);
    if (hi == SIZE_MAX || hi == 0)
        return;
    /* A function returning a function pointer: "R (*f(args))(params)" left
     * "R (*f(args))": the name is inside, without its own parameters. */
    while (hi > lo + 1 && d[hi - 1] == ')') {
        size_t o = open_paren(d, hi - 1);
        if (o == SIZE_MAX || o < lo || (d[o + 1] != '*' && d[o + 1] != '&'))
            break;
        lo = o + 2;
        hi--;
        if (hi <= lo || d[hi - 1] != ')')
            return;
        hi = open_paren(d, hi - 1);
        if (hi == SIZE_MAX || hi <= lo)
            return;
    }
    /* A return type ends at the last blank outside brackets, but for the
     * blanks of an enclosing function's qualifiers ("f(int)
     * const::{lambda()#1}"); an operator's name ("operator<", "operator
     * new") ends the search. */
    size_t start = lo;
    int depth = 0;
    for (size_t k = lo; k < hi && !is_operator(d, k); k++) {
        char ch = d[k];
        if (ch == '<' || ch == '(' || ch == '[' || ch == '{')
            depth++;
        else if (ch == '>' || ch == ')' || ch == ']' || ch == '}')
            depth--;
        else if (ch == ' ' && depth == 0 && !is_qualifier(d + k + 1))
            start = k + 1;
        if (depth < 0)
            return;
    }
    memmove(d, d + start, hi - start);
    d[hi - start] = '\0';
}

size_t gort__symtab_namelen(const char *name) {
    /* The first dot that is not part of an ellipsis ("f<int, ...>"). */
    for (size_t i = 0; name[i] != '\0'; i++) {
        if (name[i] != '.')
            continue;
        if (name[i + 1] == '.' || (i > 0 && name[i - 1] == '.'))
            continue;
        if (i > 0)
            return i;
    }
    return strlen(name);
}

/* Demangled names by the address of the mangled one (in a file mapped for
 * good: the same in every rebuild), open addressing; a name that does not
 * demangle maps to itself.  [buildlock] */
typedef struct dmentry {
    const char *mangled, *name;
} dmentry;
static dmentry *dmcache;
static size_t dmcap, dmlen;

typedef char *(*cxa_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);

/* The name to show for the mangled one; itself when it cannot be
 * demangled (or the cache cannot grow).  buildlock held. */
static const char *demangle(cxa_demangle_fn dm, const char *mangled) {
    if (2 * (dmlen + 1) > dmcap) {
        size_t ncap = dmcap ? 2 * dmcap : 4096;
        dmentry *nc = gort__calloc(ncap, sizeof *nc);
        if (nc == NULL)
            return mangled;
        for (size_t i = 0; i < dmcap; i++) {
            if (dmcache[i].mangled == NULL)
                continue;
            size_t h = ((uintptr_t)dmcache[i].mangled >> 3) * 0x9e3779b97f4a7c15ull % ncap;
            while (nc[h].mangled != NULL)
                h = (h + 1) % ncap;
            nc[h] = dmcache[i];
        }
        gort__free(dmcache);
        dmcache = nc;
        dmcap = ncap;
    }
    size_t h = ((uintptr_t)mangled >> 3) * 0x9e3779b97f4a7c15ull % dmcap;
    while (dmcache[h].mangled != NULL && dmcache[h].mangled != mangled)
        h = (h + 1) % dmcap;
    if (dmcache[h].mangled == NULL) {
        int status = -1;
        char *d = dm(mangled, NULL, NULL, &status);
        if (d != NULL && status == 0)
            shorten(d);
        else {
            gort__free(d);
            d = NULL;
        }
        dmcache[h] = (dmentry){mangled, d != NULL ? d : mangled};
        dmlen++;
    }
    return dmcache[h].name;
}

/* A weak reference: libstdc++'s when the program has it loaded, else
 * NULL.  Not dlsym, whose failure in a C program leaves a dlerror message
 * in the thread's storage, allocated by one goroutine and freed by
 * another on that thread (a user's ThreadSanitizer reported a race). */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status)
    __attribute__((weak));

/* The program's __cxa_demangle: its shared libstdc++'s, or one linked into
 * an object without being exported (-static-libstdc++), from the symbols
 * just read.  NULL: none. */
static cxa_demangle_fn find_demangler(const symvec *sv) {
    cxa_demangle_fn dm = __cxa_demangle;
    for (size_t i = 0; dm == NULL && i < sv->n; i++)
        if (strcmp(sv->v[i].sysname, "__cxa_demangle") == 0)
            dm = (cxa_demangle_fn)sv->v[i].start;
    return dm;
}

static int symcmp(const void *a, const void *b) {
    const sym *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->rank != y->rank) /* best first */
        return x->rank > y->rank ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return 0;
}

/* Builds and publishes a new table, in place of old (NULL: none yet).
 * Returns old instead when the new one would be partial and read no more
 * files than old (see the top of the file).  buildlock held. */
static symtable *build(symtable *old) {
    collect c = {0};
    dl_iterate_phdr(collect_cb, &c);
    symvec sv = {0};
    int err = c.oom ? -ENOMEM : 0;
    size_t nread = 0;
    bool partial = false;
    for (size_t i = 0; i < c.n && err == 0; i++) {
        bool transient;
        const mappedfile *f = mapfile(c.objs[i].path, &transient);
        if (f != NULL) {
            err = addfile(&sv, f, c.objs[i].bias);
            nread++;
        }
        partial |= transient;
    }
    for (size_t i = 0; i < c.n; i++)
        gort__free(c.objs[i].path);
    gort__free(c.objs);
    if (err == 0 && partial && old != NULL && nread <= old->nread && c.adds == old->adds &&
        c.subs == old->subs) {
        gort__free(sv.v);
        return old; /* no better than what readers have */
    }
    symtable *t = gort__calloc(1, sizeof *t);
    if (err != 0 || t == NULL) {
        gort__free(sv.v);
        gort__free(t);
        return old;
    }
    if (sv.n > 0) {
        qsort(sv.v, sv.n, sizeof *sv.v, symcmp);
        size_t w = 0; /* keep the best symbol of each address */
        for (size_t r = 0; r < sv.n; r++)
            if (w == 0 || sv.v[w - 1].start != sv.v[r].start)
                sv.v[w++] = sv.v[r];
        sv.n = w;
        /* Free for a C program: it has no mangled names. */
        cxa_demangle_fn dm = NULL;
        for (size_t i = 0; i < sv.n; i++) {
            if (sv.v[i].name[0] != '_' || sv.v[i].name[1] != 'Z')
                continue;
            if (dm == NULL)
                dm = find_demangler(&sv);
            if (dm == NULL)
                break;
            sv.v[i].name = demangle(dm, sv.v[i].sysname);
        }
    }
    t->syms = sv.v;
    t->n = sv.n;
    t->adds = c.adds;
    t->subs = c.subs;
    t->nread = nread;
    t->partial = partial;
    t->prev = alltables;
    alltables = t;
    atomic_store_explicit(&current, t, memory_order_release);
    return t;
}

static bool stale(const symtable *t) {
    if (t->partial)
        return true; /* worth another try: the files may be readable now */
    unsigned long long ctr[2] = {t->adds, t->subs};
    dl_iterate_phdr(counters_cb, ctr);
    return ctr[0] != t->adds || ctr[1] != t->subs;
}

/* The current table, built on first use; rebuilt if `refresh` and objects
 * were loaded or unloaded since.  NULL if it cannot be built. */
static symtable *gettable(bool refresh) {
    /* Pairs with the release store in build(). */
    symtable *t = atomic_load_explicit(&current, memory_order_acquire);
    if (GORT_LIKELY(t != NULL) && (!refresh || !stale(t)))
        return t;
    gort__lock(&buildlock);
    gort__malloc_ok_begin(); /* the symboliser's exception (fault.h) */
    t = atomic_load_explicit(&current, memory_order_relaxed);
    if (t == NULL || (refresh && stale(t)))
        t = build(t);
    gort__malloc_ok_end();
    gort__unlock(&buildlock);
    return t;
}

/* Index of the last symbol with start <= pc, or -1. */
static ptrdiff_t floor_index(const symtable *t, uintptr_t pc) {
    size_t lo = 0, hi = t->n; /* answer in [lo, hi) + 1 */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->syms[mid].start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

static bool find(const symtable *t, uintptr_t pc, const sym **out) {
    ptrdiff_t i = floor_index(t, pc);
    /* Usually the nearest symbol below covers pc; a few more are checked
     * for code nested in a larger symbol (hand-written assembly). */
    for (ptrdiff_t k = i; k >= 0 && k > i - 4; k--) {
        const sym *s = &t->syms[k];
        if (pc - s->start < s->size) {
            *out = s;
            return true;
        }
    }
    return false;
}

/* The symbol that contains pc, or NULL. */
static const sym *lookup(uintptr_t pc) {
    symtable *t = gettable(false);
    const sym *s = NULL;
    if (t == NULL)
        return NULL;
    if (!find(t, pc, &s)) {
        /* Maybe from an object loaded since the table was built. */
        symtable *t2 = gettable(true);
        if (t2 == NULL || t2 == t || !find(t2, pc, &s))
            return NULL;
    }
    return s;
}

int gort__symtab_lookup(uintptr_t pc, uintptr_t *start, size_t *size, const char **name) {
    const sym *s = lookup(pc);
    if (s == NULL)
        return -ENOENT;
    if (start)
        *start = s->start;
    if (size)
        *size = s->size;
    if (name)
        *name = s->name;
    return 0;
}

const char *gort__symtab_sysname(uintptr_t pc) {
    const sym *s = lookup(pc);
    return s != NULL ? s->sysname : NULL;
}

int gort__symtab_lookup_built(uintptr_t pc, uintptr_t *start, size_t *size) {
    /* Acquire: pairs with the release store in build(); tables are never
     * freed while the process runs (alltables). */
    symtable *t = atomic_load_explicit(&current, memory_order_acquire);
    const sym *s = NULL;
    if (t == NULL || !find(t, pc, &s))
        return -ENOENT;
    *start = s->start;
    *size = s->size;
    return 0;
}

uintptr_t gort__symtab_next_start(uintptr_t addr) {
    symtable *t = gettable(false);
    if (t == NULL)
        return UINTPTR_MAX;
    ptrdiff_t i = floor_index(t, addr) + 1;
    return (size_t)i < t->n ? t->syms[i].start : UINTPTR_MAX;
}
