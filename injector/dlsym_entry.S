/* dlsym, as the job sees it. glibc's dlsym looks at its return address to
   know who is asking (RTLD_NEXT, and RTLD_DEFAULT from a library loaded
   RTLD_LOCAL), so every lookup that is none of ours is passed on by a jump,
   not a call: the real dlsym then sees the job's caller, not us. Only names
   starting with "cu" go to vramscope_dlsym_driver (lookup_hooks.cpp).
   One version for x86-64, one for aarch64 (where the return address is the
   link register, x30, which the jumps leave as the job's). */
#if defined(__x86_64__)
    .text
    .globl dlsym
    .type dlsym, @function
dlsym:
    .cfi_startproc
    test %rsi, %rsi
    jz .Lpass
    cmpb $0x63, (%rsi)          /* 'c' */
    jne .Lpass
    cmpb $0x75, 1(%rsi)         /* 'u' */
    jne .Lpass
    jmp vramscope_dlsym_driver
.Lpass:
    mov vramscope_real_dlsym(%rip), %rax
    test %rax, %rax
    jz .Lresolve
    jmp *%rax
.Lresolve:
    /* First lookup, maybe before any constructor ran: find the real one. */
    push %rdi
    .cfi_adjust_cfa_offset 8
    push %rsi
    .cfi_adjust_cfa_offset 8
    sub $8, %rsp
    .cfi_adjust_cfa_offset 8
    call vramscope_resolve_real_dlsym
    add $8, %rsp
    .cfi_adjust_cfa_offset -8
    pop %rsi
    .cfi_adjust_cfa_offset -8
    pop %rdi
    .cfi_adjust_cfa_offset -8
    test %rax, %rax
    jz .Lnone
    jmp *%rax
.Lnone:
    ret
    .cfi_endproc
    .size dlsym, .-dlsym
#elif defined(__aarch64__)
    .text
    .globl dlsym
    .type dlsym, %function
    .p2align 2
dlsym:
    .cfi_startproc
    cbz x1, .Lpass
    ldrb w16, [x1]
    cmp w16, #0x63              /* 'c' */
    b.ne .Lpass
    ldrb w16, [x1, #1]
    cmp w16, #0x75              /* 'u' */
    b.ne .Lpass
    b vramscope_dlsym_driver
.Lpass:
    adrp x16, vramscope_real_dlsym
    ldr x16, [x16, :lo12:vramscope_real_dlsym]
    cbz x16, .Lresolve
    br x16                      /* x16: a branch BTI-guarded code accepts */
.Lresolve:
    /* First lookup, maybe before any constructor ran: find the real one. */
    stp x29, x30, [sp, #-32]!
    .cfi_def_cfa_offset 32
    .cfi_offset x29, -32
    .cfi_offset x30, -24
    mov x29, sp
    stp x0, x1, [sp, #16]
    bl vramscope_resolve_real_dlsym
    mov x16, x0
    ldp x0, x1, [sp, #16]
    ldp x29, x30, [sp], #32
    .cfi_restore x29
    .cfi_restore x30
    .cfi_def_cfa_offset 0
    cbz x16, .Lnone
    br x16
.Lnone:
    mov x0, #0
    ret
    .cfi_endproc
    .size dlsym, .-dlsym
#else
#error "vramscope's injector runs on x86-64 and aarch64"
#endif
    .section .note.GNU-stack,"",%progbits
