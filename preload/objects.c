/* SPDX-License-Identifier: MIT */
/* The OBJECTS section: every loaded object with its executable segment, load bias and GNU
 * build ID, read with dl_iterate_phdr at dump time (so dlopen'ed libraries are included).
 * Called with the guard held and no lock of ours held: dl_iterate_phdr takes the loader lock. */
#include <elf.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "mapprof/dump_format.h"
#include "objects.h"
#include "stack.h"

struct ctx {
	struct mp_buf *b;
	uint32_t count;
	int pass; /* 0: the main executable only; 1: everything else */
};

static void build_id(const struct dl_phdr_info *info, const uint8_t **id, uint32_t *len)
{
	*id = NULL;
	*len = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const uint8_t *name = p + sizeof(*nh);
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
			const uint8_t *next = desc + ((nh->n_descsz + 3) & ~3u);
			if (next > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(name, "GNU", 4)) {
				*id = desc;
				*len = nh->n_descsz;
				return;
			}
			p = next;
		}
	}
}

/* The executable's path where /proc is not mounted (a chroot, a container that masks it):
 * execve's file name (AT_EXECFN), made absolute against the directory the process started in
 * (the program may leave it), or for a "#!" script the interpreter it names, which is what
 * runs; or /proc/self/exe read at start, for a process that chroots since. Set once at start;
 * the report checks it against the build ID all the same. */
static char exe_fallback[MP_OBJECT_PATH_MAX];

/* The directory the process started in, where /proc is not mounted: relative names (execve's,
 * an interpreter's, a library's) are relative to it, as far as can be told. */
static char start_dir[MP_OBJECT_PATH_MAX];

/* name made absolute against start_dir, in out; false when it cannot be. */
static bool absolute_path(const char *name, char *out, size_t n)
{
	size_t len = strlen(name);
	if (name[0] == '/' && len < n) {
		memcpy(out, name, len + 1);
		return true;
	}
	size_t at = strlen(start_dir);
	if (!at || at + 1 + len >= n)
		return false;
	memcpy(out, start_dir, at);
	if (start_dir[at - 1] != '/') /* "/" itself */
		out[at++] = '/';
	memcpy(out + at, name, len + 1);
	return true;
}

/* A "#!" script's interpreter in place of path (the kernel runs that, through a few levels of
 * scripts); false when path names no file we can name. */
static bool interpreter_of(char *path, size_t n)
{
	for (int level = 0; level < 5; level++) {
		char head[256];
		/* not blocking on a FIFO, nor taking a terminal for the program's */
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0) /* execute-only: no script, then */
			return true;
		ssize_t r = read(fd, head, sizeof(head) - 1);
		close(fd);
		if (r < 3 || head[0] != '#' || head[1] != '!')
			return true;
		head[r] = 0;
		char *p = head + 2;
		p += strspn(p, " \t");
		p[strcspn(p, " \t\n")] = 0;
		if (!p[0] || !absolute_path(p, path, n))
			return false;
	}
	return false;
}

void mp_exe_remember(void)
{
	/* Readable now: kept for when it is not (a daemon that chroots) */
	ssize_t r = readlink("/proc/self/exe", exe_fallback, sizeof(exe_fallback) - 1);
	if (r > 0 && (size_t)r < sizeof(exe_fallback) - 1) { /* not cut short */
		exe_fallback[r] = 0;
		return;
	}
	exe_fallback[0] = 0;
	if (!getcwd(start_dir, sizeof(start_dir)) || start_dir[0] != '/')
		start_dir[0] = 0;
	const char *fn = (const char *)getauxval(AT_EXECFN);
	char path[MP_OBJECT_PATH_MAX];
	/* fexecve's /dev/fd/N (or a /proc name) names nothing once /proc is gone */
	if (fn && fn[0] && strncmp(fn, "/dev/fd/", 8) != 0 && strncmp(fn, "/proc/", 6) != 0 &&
	    absolute_path(fn, path, sizeof(path)) && interpreter_of(path, sizeof(path)))
		memcpy(exe_fallback, path, strlen(path) + 1);
	else
		mp_log("cannot name the executable (/proc not mounted?): its frames will be "
		       "shown as addresses");
}

ssize_t mp_exe_link(char *buf, size_t n)
{
	ssize_t r = readlink("/proc/self/exe", buf, n);
	if (r <= 0)
		r = readlink("/proc/thread-self/exe", buf, n);
	if (r <= 0 && exe_fallback[0]) {
		size_t len = strlen(exe_fallback);
		r = (ssize_t)(len < n ? len : n);
		memcpy(buf, exe_fallback, (size_t)r);
	}
	return r;
}

/* Whether /proc/self/exe is the program's own interpreter (PT_INTERP): it was started
 * through the loader. Compared by device and inode (the interpreter's path is a link). */
static bool exe_is_loader(const struct dl_phdr_info *info)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_INTERP)
			continue;
		const char *interp = (const char *)(info->dlpi_addr + ph->p_vaddr);
		struct stat a, b;
		return stat("/proc/self/exe", &a) == 0 && stat(interp, &b) == 0 &&
		       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	}
	return false;
}

/* o's start, limit and offset: those of the executable segment ph of info's object. */
static void set_segment(const struct dl_phdr_info *info, const ElfW(Phdr) * ph, mp_object_t *o)
{
	o->start = info->dlpi_addr + ph->p_vaddr;
	o->limit = o->start + ph->p_memsz;
	o->offset = ph->p_offset;
}

bool mp_object_of(const struct dl_phdr_info *info, char exe[MP_OBJECT_PATH_MAX], mp_object_t *o)
{
	const char *name = info->dlpi_name;
	const ElfW(Phdr) *text = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			text = ph;
			break;
		}
	}
	if (!text)
		return false;
	uintptr_t lo, hi, at = info->dlpi_addr + text->p_vaddr;
	if (name == NULL || name[0] == 0) {
		/* /proc/self/exe, unless the program was started through the loader
		 * (ld-linux-x86-64.so.2 ./prog: the program's frames were named after the loader):
		 * then the file mapped at its code (where the kernel writes a newline in a name as
		 * \012, so not always). */
		if (!exe_is_loader(info) ||
		    !mp_proc_maps_find(at, at, &lo, &hi, exe, MP_OBJECT_PATH_MAX) ||
		    exe[0] != '/') {
			ssize_t n = mp_exe_link(exe, MP_OBJECT_PATH_MAX - 1);
			exe[n > 0 ? n : 0] = 0;
		}
		name = exe;
	} else if (((name[0] != '/' && strchr(name, '/')) || strncmp(name, "/proc/", 6) == 0 ||
		    strncmp(name, "/dev/fd/", 8) == 0) &&
		   exe) {
		/* dlopen("./libx.so") keeps the name as given, relative to a directory the report
		 * does not know (and the program may have left), and so does a name under /proc
		 * (/proc/self/cwd/..., /proc/self/fd/N) or /dev/fd, which names another file in
		 * the report's process: the file mapped there instead. */
		if (mp_proc_maps_find(at, at, &lo, &hi, exe, MP_OBJECT_PATH_MAX) && exe[0] == '/')
			name = exe;
		else if (name[0] != '/' && absolute_path(name, exe, MP_OBJECT_PATH_MAX))
			name = exe; /* no /proc: relative to where the process started, likely */
	}
	o->bias = info->dlpi_addr;
	set_segment(info, text, o);
	o->path = name;
	o->path_len = strlen(name);
	build_id(info, &o->build_id, &o->build_id_len);
	return true;
}

void mp_object_put(struct mp_buf *b, const mp_object_t *o)
{
	mp_buf_u64(b, o->bias);
	mp_buf_u64(b, o->start);
	mp_buf_u64(b, o->limit);
	mp_buf_u64(b, o->offset);
	mp_buf_str(b, o->path, o->path_len);
	mp_buf_str(b, (const char *)o->build_id, o->build_id_len);
}

static int one(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct ctx *c = data;
	const char *name = info->dlpi_name;
	bool is_main = name == NULL || name[0] == 0;
	if (c->pass == 0 ? !is_main : is_main)
		return 0;
	if (c->pass == 0 && c->count > 0)
		return 0; /* only the first unnamed object is the executable */
	char exe[MP_OBJECT_PATH_MAX];
	mp_object_t o;
	if (!mp_object_of(info, exe, &o))
		return 0;
	mp_object_put(c->b, &o);
	c->count++;
	/* An object may have more than one executable segment (node has three: its code is in
	 * the third): an entry each, or the pcs in the others have no object and no names. */
	uint64_t first = o.start;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) ||
		    info->dlpi_addr + ph->p_vaddr == first)
			continue;
		set_segment(info, ph, &o);
		mp_object_put(c->b, &o);
		c->count++;
	}
	return 0;
}

void mp_objects_dump(struct mp_buf *b)
{
	size_t at = mp_buf_section_begin(b, MP_SEC_OBJECTS);
	size_t count_at = mp_buf_u32_later(b);
	struct ctx c = {b, 0, 0};
	dl_iterate_phdr(one, &c);
	c.pass = 1;
	dl_iterate_phdr(one, &c);
	mp_buf_u32_at(b, count_at, c.count);
	mp_buf_section_end(b, at);
}
