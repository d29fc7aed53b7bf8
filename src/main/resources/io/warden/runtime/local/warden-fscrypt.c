/*
 * warden-fscrypt: the kernel's ext4 encryption with v2 policies, for Warden's node volumes. The keys live in the
 * filesystem's own keyring (FS_IOC_ADD_ENCRYPTION_KEY), not in a process keyring, so postgres (started through
 * runuser, whose PAM stack makes it a new session keyring) sees the files unlocked like every other process.
 *
 *   warden-fscrypt add-key MOUNT         reads a 64-byte key on stdin, adds it, prints its identifier (hex)
 *   warden-fscrypt set-policy DIR ID     encrypts the empty directory DIR with the key of identifier ID
 *   warden-fscrypt policy DIR            prints the identifier of DIR's key, or "none"
 *   warden-fscrypt key-status MOUNT ID   prints "present" or "absent"
 *   warden-fscrypt remove-key MOUNT ID   removes the key: files under it can no longer be read
 *
 * Exit status 0 on success; 1 with the reason on stderr otherwise. Built by Warden itself on first use (cc).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fscrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KEY_BYTES 64

static int fail(const char *what, const char *path) {
    fprintf(stderr, "%s %s: %s\n", what, path, strerror(errno));
    return 1;
}

static int open_dir(const char *path) {
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int parse_identifier(const char *hex, __u8 out[FSCRYPT_KEY_IDENTIFIER_SIZE]) {
    if (strlen(hex) != 2 * FSCRYPT_KEY_IDENTIFIER_SIZE) {
        return -1;
    }
    for (int i = 0; i < FSCRYPT_KEY_IDENTIFIER_SIZE; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
            return -1;
        }
        out[i] = (__u8) byte;
    }
    return 0;
}

static void print_identifier(const __u8 id[FSCRYPT_KEY_IDENTIFIER_SIZE]) {
    for (int i = 0; i < FSCRYPT_KEY_IDENTIFIER_SIZE; i++) {
        printf("%02x", id[i]);
    }
    printf("\n");
}

static int add_key(const char *mount) {
    struct {
        struct fscrypt_add_key_arg arg;
        __u8 raw[KEY_BYTES];
    } request;
    memset(&request, 0, sizeof(request));
    size_t have = 0;
    while (have < KEY_BYTES) {
        ssize_t n = read(STDIN_FILENO, request.raw + have, KEY_BYTES - have);
        if (n <= 0) {
            fprintf(stderr, "the key on stdin is shorter than %d bytes\n", KEY_BYTES);
            return 1;
        }
        have += (size_t) n;
    }
    request.arg.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
    request.arg.raw_size = KEY_BYTES;
    int fd = open_dir(mount);
    if (fd < 0) {
        return fail("cannot open", mount);
    }
    int rc = ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, &request);
    int saved = errno;
    memset(request.raw, 0, KEY_BYTES);
    close(fd);
    if (rc != 0) {
        errno = saved;
        return fail("cannot add the key to", mount);
    }
    print_identifier(request.arg.key_spec.u.identifier);
    return 0;
}

static int set_policy(const char *dir, const char *hex) {
    struct fscrypt_policy_v2 policy;
    memset(&policy, 0, sizeof(policy));
    policy.version = FSCRYPT_POLICY_V2;
    policy.contents_encryption_mode = FSCRYPT_MODE_AES_256_XTS;
    policy.filenames_encryption_mode = FSCRYPT_MODE_AES_256_CTS;
    policy.flags = FSCRYPT_POLICY_FLAGS_PAD_32;
    if (parse_identifier(hex, policy.master_key_identifier) != 0) {
        fprintf(stderr, "'%s' is not a key identifier (32 hex digits)\n", hex);
        return 1;
    }
    int fd = open_dir(dir);
    if (fd < 0) {
        return fail("cannot open", dir);
    }
    int rc = ioctl(fd, FS_IOC_SET_ENCRYPTION_POLICY, &policy);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        errno = saved;
        return fail("cannot encrypt", dir);
    }
    return 0;
}

static int get_policy(const char *dir) {
    struct fscrypt_get_policy_ex_arg arg;
    memset(&arg, 0, sizeof(arg));
    arg.policy_size = sizeof(arg.policy);
    int fd = open_dir(dir);
    if (fd < 0) {
        return fail("cannot open", dir);
    }
    int rc = ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &arg);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        if (saved == ENODATA) {
            printf("none\n");
            return 0;
        }
        errno = saved;
        return fail("cannot read the policy of", dir);
    }
    if (arg.policy.version != FSCRYPT_POLICY_V2) {
        printf("v1\n");
        return 0;
    }
    print_identifier(arg.policy.v2.master_key_identifier);
    return 0;
}

/* Makes an ioctl on MOUNT whose argument starts with a key specifier naming the key of identifier HEX. */
static int key_ioctl(const char *mount, const char *hex, struct fscrypt_key_specifier *spec, unsigned long request,
                     void *arg, const char *what) {
    spec->type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
    if (parse_identifier(hex, spec->u.identifier) != 0) {
        fprintf(stderr, "'%s' is not a key identifier (32 hex digits)\n", hex);
        return 1;
    }
    int fd = open_dir(mount);
    if (fd < 0) {
        return fail("cannot open", mount);
    }
    int rc = ioctl(fd, request, arg);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        errno = saved;
        return fail(what, mount);
    }
    return 0;
}

static int key_status(const char *mount, const char *hex) {
    struct fscrypt_get_key_status_arg arg;
    memset(&arg, 0, sizeof(arg));
    int rc = key_ioctl(mount, hex, &arg.key_spec, FS_IOC_GET_ENCRYPTION_KEY_STATUS, &arg,
                       "cannot read the key status of");
    if (rc == 0) {
        printf("%s\n", arg.status == FSCRYPT_KEY_STATUS_PRESENT ? "present" : "absent");
    }
    return rc;
}

static int remove_key(const char *mount, const char *hex) {
    struct fscrypt_remove_key_arg arg;
    memset(&arg, 0, sizeof(arg));
    return key_ioctl(mount, hex, &arg.key_spec, FS_IOC_REMOVE_ENCRYPTION_KEY, &arg, "cannot remove the key from");
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "add-key") == 0) {
        return add_key(argv[2]);
    }
    if (argc == 4 && strcmp(argv[1], "set-policy") == 0) {
        return set_policy(argv[2], argv[3]);
    }
    if (argc == 3 && strcmp(argv[1], "policy") == 0) {
        return get_policy(argv[2]);
    }
    if (argc == 4 && strcmp(argv[1], "key-status") == 0) {
        return key_status(argv[2], argv[3]);
    }
    if (argc == 4 && strcmp(argv[1], "remove-key") == 0) {
        return remove_key(argv[2], argv[3]);
    }
    fprintf(stderr, "usage: warden-fscrypt add-key MOUNT | set-policy DIR ID | policy DIR | key-status MOUNT ID |"
                    " remove-key MOUNT ID\n");
    return 2;
}
