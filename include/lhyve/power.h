/* Power state requests from devices to the machine, and bhyve's exit codes. */
#ifndef LHYVE_POWER_H
#define LHYVE_POWER_H

/* bhyve(8) EXIT STATUS values. */
enum vm_exitcode {
	VM_EXIT_RESET = 0,       /* guest rebooted */
	VM_EXIT_POWEROFF = 1,    /* guest powered off (ACPI S5) */
	VM_EXIT_HALT = 2,        /* all vCPUs halted with interrupts off */
	VM_EXIT_TRIPLEFAULT = 3, /* triple fault */
	VM_EXIT_ERROR = 4,       /* error */
};

struct power_sink {
	/* Ask the machine to stop with this exit code. Thread-safe; first wins. */
	void (*request)(void *opaque, enum vm_exitcode why);
	void *opaque;
};

static inline void power_request(const struct power_sink *ps, enum vm_exitcode why)
{
	if (ps && ps->request)
		ps->request(ps->opaque, why);
}

#endif
