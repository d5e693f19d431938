/* The default model's bytes, embedded at build time. 64-byte aligned so tensor data keeps GGUF's alignment. */
        .section .rodata
        .balign 64
        .globl pocket_embedded_model_begin
pocket_embedded_model_begin:
        .incbin POCKET_EMBEDDED_MODEL_PATH
        .globl pocket_embedded_model_end
pocket_embedded_model_end:
        .byte 0
        .section .note.GNU-stack,"",%progbits
