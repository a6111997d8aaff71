"""Reading a dump: the safe member stream (`source`), the recognised formats (`formats`), typed decoding
(`kube`) and the frames (`frames`, `load`); `dumpspec` names a dump at one snapshot (`PATH@SNAPSHOT`).
Every path of a v1 dump is spelled in `layout`."""
