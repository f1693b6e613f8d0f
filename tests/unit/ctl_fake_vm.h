/*
 * A fake struct vm for the control-socket tests (tests/unit/test_ctl.c) and
 * fuzz harness (tests/fuzz/fuzz_ctl.c): two vCPUs whose threads never run,
 * 64 MiB of "RAM" that does not exist, COM1 on two pipes (com_in: host ->
 * guest input, com_out: guest output -> host; out_flags for the latter's
 * pipe2), an event loop nobody runs yet.
 */
#ifndef LHYVE_CTL_FAKE_VM_H
#define LHYVE_CTL_FAKE_VM_H

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lhyve/chardev.h"
#include "lhyve/event.h"
#include "lhyve/vm.h"

#define CTL_FAKE_NCPUS 2

/* 0, or -1 with a line in err. */
static inline int ctl_fake_vm_init(struct vm *vm, struct vcpu vcpus[CTL_FAKE_NCPUS],
				   int com_in[2], int com_out[2], const char *name,
				   int out_flags, char *err, size_t errlen)
{
	memset(vm, 0, sizeof(*vm));
	memset(vcpus, 0, CTL_FAKE_NCPUS * sizeof(*vcpus));
	vm->name = name;
	vm->ncpus = CTL_FAKE_NCPUS;
	vm->ram_size = 64ULL << 20;
	vm->vcpus = vcpus;
	pthread_mutex_init(&vm->stop_lock, NULL);
	for (unsigned i = 0; i < CTL_FAKE_NCPUS; i++) {
		vcpus[i].vm = vm;
		vcpus[i].id = i;
		vcpus[i].fd = -1;
		pthread_mutex_init(&vcpus[i].call_lock, NULL);
		pthread_cond_init(&vcpus[i].call_cond, NULL);
	}
	vm->loop = evloop_new();
	if (!vm->loop || pipe2(com_in, O_CLOEXEC) < 0 || pipe2(com_out, O_CLOEXEC | out_flags) < 0) {
		snprintf(err, errlen, "cannot create the event loop or the COM1 pipes");
		return -1;
	}
	vm->com_cd[0] = chardev_open_fds(com_in[0], com_out[1], vm->loop, err, errlen);
	return vm->com_cd[0] ? 0 : -1;
}

/* After the loop stopped and the control socket is gone. */
static inline void ctl_fake_vm_fini(struct vm *vm, struct vcpu vcpus[CTL_FAKE_NCPUS],
				    int com_in[2], int com_out[2])
{
	chardev_close(vm->com_cd[0]);
	close(com_in[1]);
	close(com_out[0]);
	evloop_free(vm->loop);
	for (unsigned i = 0; i < CTL_FAKE_NCPUS; i++) {
		pthread_mutex_destroy(&vcpus[i].call_lock);
		pthread_cond_destroy(&vcpus[i].call_cond);
	}
	pthread_mutex_destroy(&vm->stop_lock);
}

#endif
