"""The virtual charger's firmware, one module per OCPP 2.0.1 functional block (the file name starts with the
block letter: b_provisioning, e_transactions, f_remote_control, ...). Each module holds a mixin class;
lab.twin.charger.VirtualCharger composes them with the connection machinery (lab.twin.connection).
State shared between blocks lives in lab.twin.blocks.state; lab.twin.blocks.core declares it."""
