/* Compiler helpers shared by the whole tree. */
#ifndef QEMU_COMPILER_H
#define QEMU_COMPILER_H

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define QEMU_NORETURN __attribute__((noreturn))
#define QEMU_PACKED __attribute__((packed))
#define QEMU_ALIGNED(x) __attribute__((aligned(x)))
#define QEMU_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#define QEMU_FALLTHROUGH __attribute__((fallthrough))
#define QEMU_BUILD_BUG_ON(x) _Static_assert(!(x), "build bug: " #x)

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/* Relaxed/acquire/release atomics with QEMU's names. */
#define qatomic_read(p)        __atomic_load_n(p, __ATOMIC_RELAXED)
#define qatomic_set(p, v)      __atomic_store_n(p, v, __ATOMIC_RELAXED)
#define qatomic_load_acquire(p)     __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define qatomic_store_release(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)
#define qatomic_xchg(p, v)     __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST)
#define qatomic_cmpxchg(p, old, new) ({                                     \
    typeof(*(p)) _old = (old);                                           \
    __atomic_compare_exchange_n(p, &_old, new, false,                    \
                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);     \
    _old; })
#define qatomic_fetch_add(p, n) __atomic_fetch_add(p, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_sub(p, n) __atomic_fetch_sub(p, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_or(p, n)  __atomic_fetch_or(p, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_and(p, n) __atomic_fetch_and(p, n, __ATOMIC_SEQ_CST)
#define qatomic_add(p, n)      ((void)__atomic_fetch_add(p, n, __ATOMIC_SEQ_CST))
#define qatomic_sub(p, n)      ((void)__atomic_fetch_sub(p, n, __ATOMIC_SEQ_CST))
#define qatomic_inc(p)         qatomic_add(p, 1)
#define qatomic_dec(p)         qatomic_sub(p, 1)
#define qatomic_or(p, n)       ((void)__atomic_fetch_or(p, n, __ATOMIC_SEQ_CST))
#define qatomic_and(p, n)      ((void)__atomic_fetch_and(p, n, __ATOMIC_SEQ_CST))
#define smp_mb()   __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb()  __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()  __atomic_thread_fence(__ATOMIC_RELEASE)

#endif
