/* dlsym, as the job sees it. glibc's dlsym looks at its return address to
   know who is asking (RTLD_NEXT, and RTLD_DEFAULT from a library loaded
   RTLD_LOCAL), so every lookup that is none of ours is passed on by a jump,
   not a call: the real dlsym then sees the job's caller, not us. Only names
   starting with "cu" go to vramscope_dlsym_driver (lookup_hooks.cpp). */
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
    .section .note.GNU-stack,"",@progbits
