/*
 * globalstate: the run state of the source when it stopped, as a FULL
 * section "globalstate" instance 0 version 1 (facts 1.5):
 *
 *   be32 size       strlen(run state name) + 1
 *   100 bytes       the name, NUL padded
 *
 * The source stores it (global_state_store) just before stopping the VM;
 * the destination uses it at the end of precopy to decide whether to start
 * the VM (missing or "running") or to enter the received state.
 *
 * Thread context: store and save run with the BQL held (VM being stopped,
 * migration thread in completion); load in the incoming thread with the
 * BQL; global_state_get_runstate() is read after the load finished.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "sysemu/runstate.h"
#include "migration/register.h"
#include "migration/vmstate.h"
#include "migration/options.h"
#include "migration/savevm.h"
#include "trace.h"

#define GLOBAL_STATE_RUNSTATE_LEN 100

typedef struct GlobalState {
    uint32_t size;
    uint8_t runstate[GLOBAL_STATE_RUNSTATE_LEN];
    bool received;              /* destination: a section was loaded */
    RunState state;             /* destination: parsed runstate */
} GlobalState;

static GlobalState global_state;

void global_state_store(void)
{
    memset(global_state.runstate, 0, sizeof(global_state.runstate));
    runstate_store((char *)global_state.runstate,
                   sizeof(global_state.runstate));
    trace_global_state_store((char *)global_state.runstate);
}

const char *global_state_get_runstate(void)
{
    return global_state.received ? RunState_str(global_state.state) : NULL;
}

void global_state_reset_received(void)
{
    global_state.received = false;
}

static bool global_state_needed(void *opaque)
{
    GlobalState *s = opaque;
    const char *rs = (const char *)s->runstate;

    if (migrate_store_global_state()) {
        return true;
    }
    /* Optional: only a state other than running/paused must travel. */
    return strcmp(rs, "running") != 0 && strcmp(rs, "paused") != 0;
}

static int global_state_pre_save(void *opaque)
{
    GlobalState *s = opaque;

    s->runstate[sizeof(s->runstate) - 1] = '\0';
    s->size = strnlen((char *)s->runstate, sizeof(s->runstate)) + 1;
    return 0;
}

static bool global_state_post_load(void *opaque, int version_id, Error **errp)
{
    GlobalState *s = opaque;
    char *name = (char *)s->runstate;
    RunState r;

    if (s->size > sizeof(s->runstate)) {
        error_setg(errp, "globalstate: field size is %u, at most %zu",
                   s->size, sizeof(s->runstate));
        return false;
    }
    if (!memchr(s->runstate, '\0', sizeof(s->runstate))) {
        error_setg(errp, "globalstate: field runstate is not NUL "
                   "terminated");
        return false;
    }
    if (!RunState_parse(name, &r)) {
        error_setg(errp, "globalstate: unknown received run state '%s'",
                   name);
        return false;
    }
    s->state = r;
    s->received = true;
    trace_global_state_post_load(name);
    return true;
}

static const VMStateDescription vmstate_globalstate = {
    .name = "globalstate",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = global_state_needed,
    .pre_save = global_state_pre_save,
    .post_load_errp = global_state_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(size, GlobalState),
        VMSTATE_BUFFER(runstate, GlobalState),
        VMSTATE_END_OF_LIST()
    },
};

void global_state_register_vmsd(void)
{
    static bool done;

    if (!done) {
        done = true;
        global_state_store();   /* a sane value before the first store */
        vmstate_register(NULL, 0, &vmstate_globalstate, &global_state);
    }
}
