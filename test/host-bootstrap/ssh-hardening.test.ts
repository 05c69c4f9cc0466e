import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Sandbox } from "./harness";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
  sb.file("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n");
  sb.file("etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication yes\n");
});
afterEach(() => sb.cleanup());

const DROP_IN = "etc/ssh/sshd_config.d/01-hybrid-inference.conf";

describe("ssh-hardening", () => {
  it("turns password logins off in a drop-in read before cloud-init's, then reloads sshd", () => {
    const r = sb.runStep("ssh-hardening", { HI_SSH_USER: "ubuntu" });
    expect(r.status).toBe(0);
    const conf = sb.read(DROP_IN);
    expect(conf).toContain("PasswordAuthentication no\nKbdInteractiveAuthentication no\n");
    expect(conf).toContain("PermitRootLogin no");
    // sshd keeps the first value it reads: 01- sorts before 50-cloud-init.conf.
    expect(["01-hybrid-inference.conf", "50-cloud-init.conf"].sort()[0]).toBe("01-hybrid-inference.conf");
    expect(sb.calls().map((c) => c.join(" "))).toEqual(expect.arrayContaining(["sshd -t", "systemctl reload ssh"]));
  });

  it("keeps key-only root login when the deployment logs in as root", () => {
    expect(sb.runStep("ssh-hardening", { HI_SSH_USER: "root" }).status).toBe(0);
    expect(sb.read(DROP_IN)).toContain("PermitRootLogin prohibit-password");
  });

  it("changes nothing on a second run", () => {
    sb.runStep("ssh-hardening", { HI_SSH_USER: "ubuntu" });
    const before = sb.calls().length;
    const r = sb.runStep("ssh-hardening", { HI_SSH_USER: "ubuntu" });
    expect(r.stdout).toContain("SSH already allows keys only");
    expect(sb.calls().slice(before).map((c) => c[0])).not.toContain("systemctl");
  });

  it("removes its drop-in and fails when sshd rejects the configuration", () => {
    sb.set("sshd-rc", "1");
    const r = sb.runStep("ssh-hardening", { HI_SSH_USER: "ubuntu" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("[hybrid-inference:ssh-hardening] sshd rejected the hardened configuration");
    expect(sb.exists(DROP_IN)).toBe(false);
  });

  it("refuses a config without the drop-in directory", () => {
    sb.file("etc/ssh/sshd_config", "Port 22\n");
    const r = sb.runStep("ssh-hardening", { HI_SSH_USER: "ubuntu" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("does not include /etc/ssh/sshd_config.d/*.conf");
  });
});
