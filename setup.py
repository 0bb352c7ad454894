from setuptools import find_packages, setup

setup(
    name="swiftcrypt",
    version="0.1.0",
    description="Transparent encryption at rest for OpenStack Swift, as WSGI middleware",
    long_description=open("README.md").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    # bench/ stays at the top of the repository but installs as
    # swiftcrypt_bench: no generic top-level "bench" in users' site-packages
    packages=find_packages(include=["swiftcrypt", "swiftcrypt.*"]) + ["swiftcrypt_bench"],
    package_dir={"swiftcrypt_bench": "bench"},
    data_files=[("share/swiftcrypt/etc", ["etc/standalone.conf", "etc/standalone-kms.conf",
                                          "etc/rekey-standalone.conf-sample",
                                          "etc/rekey-swift.conf-sample"])],
    install_requires=[
        "webob>=1.8",
        "PasteDeploy>=2.0",
        "cryptography>=3.4",
        "eventlet>=0.33",
        "python-barbicanclient>=5.0",
        "keystoneauth1>=4.0",
    ],
    extras_require={
        "test": [
            "pytest>=7",
            "hypothesis>=6",
            "psutil>=5",
            "requests>=2.25",
            "ruff>=0.4",
            "swift==2.38.3",
            "python-swiftclient>=4",
            "boto3>=1.26",
            "matplotlib>=3.5",  # the bench plot is tested too
            # Swift's proxy in Keystone mode (authtoken, s3token), Swift's
            # own kms_keymaster (castellan), Swift's Keystone functional tests
            "keystonemiddleware>=10",
            "python-keystoneclient>=5",
            "castellan>=4",
        ],
        # what `swiftcrypt bench` compares against (Swift's filters) and plots with
        "bench": ["matplotlib>=3.5", "psutil>=5", "swift==2.38.3"],
    },
    entry_points={
        "paste.filter_factory": [
            "keymaster = swiftcrypt.keymasters.config_keymaster:filter_factory",
            "kms_keymaster = swiftcrypt.keymasters.kms_keymaster:filter_factory",
            "account_keymaster = swiftcrypt.keymasters.account_keymaster:filter_factory",
            "encryption = swiftcrypt.middleware.encryption:filter_factory",
        ],
        "paste.app_factory": [
            "store = swiftcrypt.store.app:app_factory",
        ],
        "console_scripts": [
            "swiftcrypt = swiftcrypt.cli:main",
        ],
    },
)
