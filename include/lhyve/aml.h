/*
 * A small AML (ACPI Machine Language) emitter for building the DSDT (ACPI
 * 6.x, section 20 "ACPI Machine Language Specification").
 *
 * Usage: aml_init(), then emit terms in order; "begin" calls open a scope
 * whose PkgLength is filled in by the matching aml_end(). Errors (bad name,
 * out of memory, unbalanced nesting) are sticky: emitting continues as a
 * no-op and aml_finish() reports the first error. The emitter is not
 * thread-safe; each builder owns its struct aml.
 *
 *   aml_name(a, "_S5");  aml_package_begin(a, 4);
 *   aml_integer(a, 5); ... aml_end(a);
 */
#ifndef LHYVE_AML_H
#define LHYVE_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16

enum aml_frame_kind { AML_FRAME_PKG, AML_FRAME_BUFFER };

struct aml_frame {
	size_t start;             /* offset where the PkgLength goes */
	enum aml_frame_kind kind;
};

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err;                  /* first error (-errno) or 0 */
	unsigned depth;
	struct aml_frame frame[AML_MAX_DEPTH];
};

/* Start an empty AML stream. Returns 0 or -ENOMEM. */
int aml_init(struct aml *a);
/* Release the stream's memory. */
void aml_free(struct aml *a);
/* 0 if the stream is complete and error-free (all scopes closed), else -errno. */
int aml_finish(const struct aml *a);

/* Raw bytes (for opcodes the helpers do not cover). */
void aml_raw(struct aml *a, const void *data, size_t len);
/* A NameString: "\\_SB.PCI0", "^FOO", "_S5" (segments padded with '_'). */
void aml_namestring(struct aml *a, const char *path);

/* Name(path, <next object>): emit the object right after this call. */
void aml_name(struct aml *a, const char *path);
/* Scope(path) { ... aml_end() } */
void aml_scope_begin(struct aml *a, const char *path);
/* Device(path) { ... aml_end() } */
void aml_device_begin(struct aml *a, const char *path);
/* Method(path, nargs, Serialized/NotSerialized) { ... aml_end() } */
void aml_method_begin(struct aml *a, const char *path, unsigned nargs, int serialized);
/* Package(nelems) { ... aml_end() } */
void aml_package_begin(struct aml *a, unsigned nelems);
/* Return (<next object>) */
void aml_return(struct aml *a);
/* Close the innermost open Scope/Device/Method/Package/Buffer. */
void aml_end(struct aml *a);

/* Integer constant, shortest encoding (Zero, One, Byte..QWord). */
void aml_integer(struct aml *a, uint64_t v);
/* String constant (ASCII 0x01-0x7F). */
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0501") as a DWord integer. */
void aml_eisaid(struct aml *a, const char *id);

/* ResourceTemplate() { ... aml_end() }: a Buffer; aml_end adds the End Tag. */
void aml_rt_begin(struct aml *a);
/* IO (Decode16, min, max, align, len) */
void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags () { irqs in mask } */
void aml_rt_irq_noflags(struct aml *a, uint16_t mask);
/*
 * Address space descriptors for a bridge's windows (ACPI 6.4.3.5), all
 * ResourceProducer, PosDecode, MinFixed, MaxFixed, granularity 0,
 * translation 0, length max - min + 1. min > max (or a window covering the
 * whole 64-bit space) is an -EINVAL error.
 */
/* WordBusNumber (..., min, max) */
void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t max);
/* WordIO (..., EntireRange, min, max) */
void aml_rt_word_io(struct aml *a, uint16_t min, uint16_t max);
/* DWordMemory (..., Cacheable or NonCacheable, ReadWrite, min, max) */
void aml_rt_dword_mem(struct aml *a, uint32_t min, uint32_t max, bool cacheable);
/* QWordMemory (..., Cacheable or NonCacheable, ReadWrite, min, max) */
void aml_rt_qword_mem(struct aml *a, uint64_t min, uint64_t max, bool cacheable);
/* Memory32Fixed (ReadWrite, base, len): len != 0 and base + len <= 4 GiB. */
void aml_rt_mem32_fixed(struct aml *a, uint32_t base, uint32_t len);

#endif
