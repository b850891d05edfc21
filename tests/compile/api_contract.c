// The contract of ../shared/design/API.md, checked by the compiler: every
// declaration of its code blocks, copied here as API.md writes it, must be
// compatible with gort.h's (C11 allows a function or a typedef to be
// declared again only compatibly), and every field API.md names must exist
// with its type.  Tests outside the project compile against API.md's
// signatures; a change to gort.h that broke one fails here first.
// Built with -std=c11 -pedantic-errors -Wall -Werror -fsyntax-only.
#include "gort.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

// The declarations, verbatim but for blanks (comments dropped).
typedef struct gort_chan gort_chan;
typedef struct gort_mutex gort_mutex;
typedef struct gort_rwmutex gort_rwmutex;
typedef struct gort_once gort_once;
typedef struct gort_waitgroup gort_waitgroup;
typedef struct gort_cond gort_cond;
typedef struct gort_timer gort_timer;
typedef struct gort_ticker gort_ticker;
typedef struct gort_ctx gort_ctx;
int gort_main(int (*main_fn)(void *arg), void *arg);
int gort_go(void (*fn)(void *arg), void *arg);
int gort_go_attr_spawn(void (*fn)(void *arg), void *arg, const gort_go_attr *attr);
void gort_yield(void);
_Noreturn void gort_goexit(void);
int64_t gort_goid(void);
int gort_numgoroutine(void);
int gort_numcpu(void);
int gort_gomaxprocs(int n);
void gort_lock_os_thread(void);
void gort_unlock_os_thread(void);
gort_chan *gort_chan_make(size_t elem_size, size_t cap);
void gort_chan_free(gort_chan *c);
void gort_chan_send(gort_chan *c, const void *elem);
bool gort_chan_recv(gort_chan *c, void *elem);
bool gort_chan_trysend(gort_chan *c, const void *elem);
bool gort_chan_tryrecv(gort_chan *c, void *elem, bool *ok);
void gort_chan_close(gort_chan *c);
size_t gort_chan_len(gort_chan *c);
size_t gort_chan_cap(gort_chan *c);
int gort_select(gort_select_case *cases, int ncases, bool block);
void gort_mutex_lock(gort_mutex *m);
bool gort_mutex_trylock(gort_mutex *m);
void gort_mutex_unlock(gort_mutex *m);
void gort_rwmutex_rlock(gort_rwmutex *rw);
bool gort_rwmutex_tryrlock(gort_rwmutex *rw);
void gort_rwmutex_runlock(gort_rwmutex *rw);
void gort_rwmutex_lock(gort_rwmutex *rw);
bool gort_rwmutex_trylock(gort_rwmutex *rw);
void gort_rwmutex_unlock(gort_rwmutex *rw);
void gort_once_do(gort_once *o, void (*fn)(void *arg), void *arg);
void gort_wg_add(gort_waitgroup *wg, int64_t delta);
void gort_wg_done(gort_waitgroup *wg);
void gort_wg_wait(gort_waitgroup *wg);
void gort_cond_init(gort_cond *c, gort_mutex *m);
void gort_cond_wait(gort_cond *c);
void gort_cond_signal(gort_cond *c);
void gort_cond_broadcast(gort_cond *c);
int64_t gort_nanotime(void);
void gort_sleep(int64_t ns);
gort_timer *gort_timer_new(int64_t ns);
gort_timer *gort_after_func(int64_t ns, void (*fn)(void *arg), void *arg);
gort_chan *gort_timer_chan(gort_timer *t);
bool gort_timer_stop(gort_timer *t);
bool gort_timer_reset(gort_timer *t, int64_t ns);
void gort_timer_free(gort_timer *t);
gort_ticker *gort_ticker_new(int64_t period);
gort_chan *gort_ticker_chan(gort_ticker *t);
void gort_ticker_reset(gort_ticker *t, int64_t period);
void gort_ticker_stop(gort_ticker *t);
void gort_ticker_free(gort_ticker *t);
int gort_listen(const char *addr, int backlog);
int gort_local_port(int fd);
int gort_accept(int lfd, struct sockaddr *sa, socklen_t *salen);
int gort_dial(const char *addr, int64_t deadline);
ssize_t gort_read(int fd, void *buf, size_t n);
ssize_t gort_write(int fd, const void *buf, size_t n);
int gort_set_deadline(int fd, int64_t read_deadline, int64_t write_deadline);
int gort_wait_fd(int fd, int events, int64_t deadline);
int gort_close(int fd);
void gort_syscall_enter(void);
void gort_syscall_exit(void);
void gort_defer(void (*fn)(void *arg), void *arg);
int gort_call(void (*fn)(void *arg), void *arg);
_Noreturn void gort_panic(const char *msg);
_Noreturn void gort_panicf(const char *fmt, ...);
const char *gort_recover(void);
size_t gort_stack(char *buf, size_t len, bool all);
void gort_read_stats(gort_stats *s);
void *gort_new(size_t size);
void *gort_new_noscan(size_t size);
void gort_gc(void);
void gort_keep_alive(const void *p);
void gort_set_finalizer(void *obj, void (*fn)(void *obj));
int gort_set_gc_percent(int percent);
int64_t gort_set_memory_limit(int64_t bytes);
void gort_free_os_memory(void);
int gort_gc_add_roots(const void *start, size_t len);
int gort_gc_remove_roots(const void *start, size_t len);
int gort_pprof_start_cpu(int fd);
void gort_pprof_stop_cpu(void);
int gort_pprof_write(const char *name, int fd, int debug);
void gort_set_block_profile_rate(int rate);
int gort_set_mutex_profile_fraction(int rate);
void gort_set_label(const char *key, const char *value);
int gort_trace_start(int fd);
void gort_trace_stop(void);
int gort_go_copy(void (*fn)(void *arg), const void *arg, size_t size);
gort_ctx *gort_ctx_background(void);
gort_ctx *gort_ctx_with_cancel(gort_ctx *parent);
gort_ctx *gort_ctx_with_deadline(gort_ctx *parent, int64_t deadline);
gort_ctx *gort_ctx_with_timeout(gort_ctx *parent, int64_t ns);
void gort_ctx_cancel(gort_ctx *ctx);
gort_chan *gort_ctx_done(gort_ctx *ctx);
int gort_ctx_err(gort_ctx *ctx);
void gort_ctx_free(gort_ctx *ctx);
int gort_synctest_run(void (*fn)(void *arg), void *arg);
void gort_synctest_wait(void);

// The structs API.md defines: each field, with its type.
#define FIELD(T, f, type) \
    _Static_assert(_Generic(((T *)0)->f, type : 1, default : 0), #T "." #f " is not " #type)
FIELD(gort_go_attr, stack_size, size_t);
FIELD(gort_go_attr, name, const char *);
FIELD(gort_select_case, chan, gort_chan *);
FIELD(gort_select_case, dir, int);
FIELD(gort_select_case, elem, void *);
FIELD(gort_select_case, ok, bool);
FIELD(gort_stats, goroutines, uint64_t);
FIELD(gort_stats, threads, uint64_t);
FIELD(gort_stats, procs, uint64_t);
FIELD(gort_stats, stack_inuse_bytes, uint64_t);
FIELD(gort_stats, stack_sys_bytes, uint64_t);
FIELD(gort_stats, goroutines_created, uint64_t);
FIELD(gort_stats, context_switches, uint64_t);
FIELD(gort_stats, steals, uint64_t);

// The constants API.md defines.
_Static_assert(GORT_SEND == 1 && GORT_RECV == 2, "GORT_SEND, GORT_RECV");
_Static_assert(GORT_POLL_READ == 1 && GORT_POLL_WRITE == 2, "GORT_POLL_*");
static gort_mutex mu = GORT_MUTEX_INIT;
static gort_rwmutex rw = GORT_RWMUTEX_INIT;
static gort_once once = GORT_ONCE_INIT;
static gort_waitgroup wg = GORT_WAITGROUP_INIT;

int main(void) {
    (void)mu, (void)rw, (void)once, (void)wg;
    return 0;
}
